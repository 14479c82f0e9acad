#include "mounts.h"
#include "devices.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

static int
openat2_in_root (int rootfd, const char *path, int flags)
{
  struct open_how how = { .flags = flags | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  return (int) syscall (SYS_openat2, rootfd, path, &how, sizeof how);
}

int
fleetrt_open_in_root (int rootfd, const char *path, bool create, bool file, fleetrt_error **err)
{
  cleanup_free char *p = xstrdup (path);
  int fd = openat2_in_root (rootfd, path, O_PATH);
  if (fd >= 0 || !create || errno != ENOENT)
    {
      if (fd < 0)
        return fleetrt_fail (err, errno, "open `%s` in the rootfs", path);
      return fd;
    }
  /* Walk down, creating what is missing; each parent is resolved inside the root, so a
   * symlink in the image can never lead outside it. */
  for (char *s = p + 1;; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char saved = *s;
      bool last = saved == '\0';
      *s = '\0';
      {
        cleanup_close int existing = openat2_in_root (rootfd, p, O_PATH);
        if (existing < 0)
          {
            char *slash = strrchr (p, '/');
            cleanup_close int parent = -1;
            *slash = '\0';
            parent = openat2_in_root (rootfd, p[0] ? p : "/", O_PATH | O_DIRECTORY);
            *slash = '/';
            if (parent < 0)
              return fleetrt_fail (err, errno, "open parent of `%s` in the rootfs", p);
            if (last && file)
              {
                int f = openat (parent, slash + 1, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
                if (f < 0 && errno != EEXIST)
                  return fleetrt_fail (err, errno, "create `%s` in the rootfs", p);
                if (f >= 0)
                  close (f);
              }
            else if (mkdirat (parent, slash + 1, 0755) < 0 && errno != EEXIST)
              return fleetrt_fail (err, errno, "mkdir `%s` in the rootfs", p);
          }
      }
      *s = saved;
      if (last)
        break;
    }
  fd = openat2_in_root (rootfd, path, O_PATH);
  if (fd < 0)
    return fleetrt_fail (err, errno, "open `%s` in the rootfs", path);
  return fd;
}

char *
fleetrt_overlay_options (const struct fleetrt_config *c)
{
  size_t len = 64;
  char *o, *p;
  for (size_t i = 0; i < c->n_layers; i++)
    len += strlen (c->layers[i]) + 1;
  if (c->upper_dir)
    len += strlen (c->upper_dir) + strlen (c->work_dir);
  o = p = xmalloc0 (len);
  p += sprintf (p, "lowerdir=");
  for (size_t i = 0; i < c->n_layers; i++)
    p += sprintf (p, "%s%s", i ? ":" : "", c->layers[i]);
  if (c->upper_dir)
    sprintf (p, ",upperdir=%s,workdir=%s", c->upper_dir, c->work_dir);
  return o;
}

static int
fd_path (int fd, char *buf, size_t size)
{
  return snprintf (buf, size, "/proc/self/fd/%d", fd);
}

/* A "cgroup" mount. v2: a cgroup2 mount. v1: a tmpfs holding one entry per hierarchy of
 * /proc/self/cgroup; with a cgroup namespace each is a fresh cgroup mount (rooted at the
 * namespace), without one it is a read-only bind of the container's own cgroup directory, as
 * runc does, so the container never sees the host's tree (and no cgroup_mutex is taken while
 * the parent migrates the init). */
static int
mount_cgroup (const struct fleetrt_mount *m, int target, int rootfd, const char *cgroup_path,
              bool cgroupns, fleetrt_error **err)
{
  char tpath[64];
  struct statvfs sv;
  unsigned long flags = m->flags & ~MS_RDONLY;
  cleanup_free char *text = NULL;
  int ret;

  fd_path (target, tpath, sizeof tpath);
  if (statvfs ("/sys/fs/cgroup", &sv) == 0 && access ("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0)
    {
      if (mount ("cgroup2", tpath, "cgroup2", m->flags, NULL) < 0)
        return fleetrt_fail (err, errno, "mount cgroup2 on `%s`", m->destination);
      return 0;
    }
  if (mount ("tmpfs", tpath, "tmpfs", flags, "mode=755") < 0)
    return fleetrt_fail (err, errno, "mount tmpfs on `%s`", m->destination);
  if ((ret = read_file ("/proc/self/cgroup", &text, NULL, err)) < 0)
    return ret;
  for (char *line = text, *next; line && *line; line = next)
    {
      char *ctrl, *end;
      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      ctrl = strchr (line, ':');
      if (ctrl == NULL)
        continue;
      ctrl++;
      end = strchr (ctrl, ':');
      if (end == NULL || end == ctrl)
        continue; /* the v2 entry */
      *end = '\0';
      {
        const char *dir = strncmp (ctrl, "name=", 5) == 0 ? ctrl + 5 : ctrl;
        cleanup_free char *dest = xasprintf ("%s/%s", m->destination, dir);
        cleanup_free char *data = xstrdup (ctrl);
        cleanup_close int sub = fleetrt_open_in_root (rootfd, dest, true, false, err);
        char spath[64];
        if (sub < 0)
          return sub;
        fd_path (sub, spath, sizeof spath);
        if (cgroupns)
          {
            if (mount ("cgroup", spath, "cgroup", m->flags, data) < 0)
              return fleetrt_fail (err, errno, "mount cgroup `%s` on `%s`", ctrl, dest);
          }
        else
          {
            cleanup_free char *own = xasprintf ("/sys/fs/cgroup/%s%s", dir, cgroup_path);
            cleanup_free char *cur = xasprintf ("/sys/fs/cgroup/%s%s", dir, end + 1);
            const char *src = access (own, F_OK) == 0 ? own : cur;
            cleanup_close int again = -1;
            if (mount (src, spath, NULL, MS_BIND, NULL) < 0)
              return fleetrt_fail (err, errno, "bind cgroup `%s` on `%s`", src, dest);
            again = fleetrt_open_in_root (rootfd, dest, false, false, err);
            if (again < 0)
              return again;
            fd_path (again, spath, sizeof spath);
            if (mount (NULL, spath, NULL,
                       MS_BIND | MS_REMOUNT | MS_RDONLY | (m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC)),
                       NULL)
                < 0)
              return fleetrt_fail (err, errno, "remount `%s` read-only", dest);
          }
      }
    }
  if (m->flags & MS_RDONLY)
    {
      /* The fd still names the directory under the tmpfs: reopen to reach the tmpfs. */
      cleanup_close int again = fleetrt_open_in_root (rootfd, m->destination, false, false, err);
      if (again < 0)
        return again;
      fd_path (again, tpath, sizeof tpath);
      if (mount (NULL, tpath, NULL, MS_REMOUNT | flags | MS_RDONLY, "mode=755") < 0)
        return fleetrt_fail (err, errno, "remount `%s` read-only", m->destination);
    }
  return 0;
}

static int
do_mount (const struct fleetrt_config *c, const struct fleetrt_mount *m, int rootfd,
          const char *cgroup_path, fleetrt_error **err)
{
  cleanup_close int target = -1;
  char tpath[64];
  bool file = false;

  if (m->bind)
    {
      struct stat st;
      if (stat (m->source, &st) < 0)
        return fleetrt_fail (err, errno, "bind mount source `%s`", m->source);
      file = !S_ISDIR (st.st_mode);
    }
  target = fleetrt_open_in_root (rootfd, m->destination, true, file, err);
  if (target < 0)
    return target;
  fd_path (target, tpath, sizeof tpath);

  if (m->type && strcmp (m->type, "cgroup") == 0)
    return mount_cgroup (m, target, rootfd, cgroup_path,
                         fleetrt_config_namespace (c, CLONE_NEWCGROUP) != NULL, err);

  if (m->bind)
    {
      if (mount (m->source, tpath, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
        return fleetrt_fail (err, errno, "bind mount `%s` on `%s`", m->source, m->destination);
      /* Per-mount flags (ro, nosuid...) only take effect on a bind remount. */
      if (m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT))
        {
          unsigned long fl = MS_BIND | MS_REMOUNT | (m->flags & ~(MS_REC | MS_REMOUNT));
          cleanup_close int again = fleetrt_open_in_root (rootfd, m->destination, false, file, err);
          char apath[64];
          if (again < 0)
            return again;
          fd_path (again, apath, sizeof apath);
          if (mount (NULL, apath, NULL, fl, NULL) < 0)
            return fleetrt_fail (err, errno, "remount `%s` with its options", m->destination);
        }
    }
  else if (mount (m->source, tpath, m->type, m->flags, m->data) < 0)
    return fleetrt_fail (err, errno, "mount %s on `%s`", m->type, m->destination);

  if (m->propagation)
    {
      cleanup_close int again = fleetrt_open_in_root (rootfd, m->destination, false, file, err);
      char apath[64];
      if (again < 0)
        return again;
      fd_path (again, apath, sizeof apath);
      if (mount (NULL, apath, NULL, m->propagation, NULL) < 0)
        return fleetrt_fail (err, errno, "set propagation of `%s`", m->destination);
    }
  return 0;
}

int
fleetrt_mounts_prepare (const struct fleetrt_config *c, const char *cgroup_path,
                        fleetrt_error **err)
{
  unsigned long prop = c->rootfs_propagation ? c->rootfs_propagation : (MS_SLAVE | MS_REC);
  cleanup_close int rootfd = -1;
  bool has_dev = false;
  int ret;

  /* Nothing we mount may leak back to the host. */
  if (mount (NULL, "/", NULL, prop, NULL) < 0)
    return fleetrt_fail (err, errno, "make / %s", prop & MS_SHARED ? "shared" : "slave/private");

  if (c->n_layers)
    {
      cleanup_free char *opts = fleetrt_overlay_options (c);
      if (mount ("overlay", c->root_path, "overlay", c->upper_dir ? 0 : MS_RDONLY, opts) < 0)
        return fleetrt_fail (err, errno, "mount the overlay rootfs on `%s`", c->root_path);
    }
  else if (mount (c->root_path, c->root_path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return fleetrt_fail (err, errno, "bind mount the rootfs `%s`", c->root_path);
  /* pivot_root refuses a shared new root's parent; keep the rootfs mount private. */
  if (mount (NULL, c->root_path, NULL, MS_PRIVATE, NULL) < 0)
    return fleetrt_fail (err, errno, "make the rootfs private");

  rootfd = open (c->root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return fleetrt_fail (err, errno, "open rootfs `%s`", c->root_path);

  for (size_t i = 0; i < c->n_mounts; i++)
    {
      if ((ret = do_mount (c, &c->mounts[i], rootfd, cgroup_path, err)) < 0)
        return fleetrt_error_wrap (err, "mounts[%zu]", i);
      if (strcmp (c->mounts[i].destination, "/dev") == 0)
        has_dev = true;
    }

  /* Populate /dev only when it is a fresh mount, never the image's own directory. */
  if (has_dev)
    {
      cleanup_close int devfd = openat2_in_root (rootfd, "/dev", O_DIRECTORY | O_RDONLY);
      if (devfd < 0)
        return fleetrt_fail (err, errno, "open /dev in the rootfs");
      if ((ret = fleetrt_devices_populate (devfd, c, err)) < 0)
        return ret;
    }
  return 0;
}

static int
mask_path (const char *path, fleetrt_error **err)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : fleetrt_fail (err, errno, "linux.maskedPaths: `%s`", path);
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k") < 0)
        return fleetrt_fail (err, errno, "linux.maskedPaths: mask `%s`", path);
    }
  else if (mount ("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    return fleetrt_fail (err, errno, "linux.maskedPaths: mask `%s`", path);
  return 0;
}

static int
readonly_path (const char *path, fleetrt_error **err)
{
  struct statvfs sv;
  unsigned long keep = 0;
  if (mount (path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return errno == ENOENT ? 0 : fleetrt_fail (err, errno, "linux.readonlyPaths: bind `%s`", path);
  if (statvfs (path, &sv) == 0)
    keep = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0)
           | (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
  if (mount (NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | keep, NULL) < 0)
    return fleetrt_fail (err, errno, "linux.readonlyPaths: make `%s` read-only", path);
  return 0;
}

int
fleetrt_mounts_pivot (const struct fleetrt_config *c, fleetrt_error **err)
{
  if (chdir (c->root_path) < 0)
    return fleetrt_fail (err, errno, "chdir `%s`", c->root_path);
  /* pivot_root(".", ".") stacks the old root on the new one; unmounting "." then drops it
   * without needing a directory for it inside the image. */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return fleetrt_fail (err, errno, "pivot_root `%s`", c->root_path);
  if (umount2 (".", MNT_DETACH) < 0)
    return fleetrt_fail (err, errno, "detach the old root");
  if (chdir ("/") < 0)
    return fleetrt_fail (err, errno, "chdir /");
  return 0;
}

int
fleetrt_mounts_finish (const struct fleetrt_config *c, fleetrt_error **err)
{
  int ret;
  for (size_t i = 0; i < c->n_masked_paths; i++)
    if ((ret = mask_path (c->masked_paths[i], err)) < 0)
      return ret;
  for (size_t i = 0; i < c->n_readonly_paths; i++)
    if ((ret = readonly_path (c->readonly_paths[i], err)) < 0)
      return ret;
  if (c->root_readonly)
    {
      struct statvfs sv;
      unsigned long keep = 0;
      if (statvfs ("/", &sv) == 0)
        keep = (sv.f_flag & ST_NOSUID ? MS_NOSUID : 0) | (sv.f_flag & ST_NODEV ? MS_NODEV : 0)
               | (sv.f_flag & ST_NOEXEC ? MS_NOEXEC : 0);
      if (mount (NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | keep, NULL) < 0)
        return fleetrt_fail (err, errno, "root.readonly: remount / read-only");
    }
  return 0;
}
