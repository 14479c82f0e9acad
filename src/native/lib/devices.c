#include "devices.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static const struct
{
  const char *name;
  unsigned major, minor;
} default_devices[] = {
  { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
  { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static const struct
{
  const char *target;
  const char *name;
} default_links[] = {
  { "/proc/self/fd", "fd" },     { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
  { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" },       { "/proc/kcore", "core" },
};

static int
make_node (int devfd, const char *name, mode_t type, mode_t mode, dev_t dev, uid_t uid, gid_t gid,
           fleetrt_error **err)
{
  if (mknodat (devfd, name, type | mode, dev) < 0 && errno != EEXIST)
    return fleetrt_fail (err, errno, "mknod /dev/%s", name);
  /* mknod honours the umask; set the mode explicitly. */
  if (fchmodat (devfd, name, mode, 0) < 0)
    return fleetrt_fail (err, errno, "chmod /dev/%s", name);
  if (fchownat (devfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
    return fleetrt_fail (err, errno, "chown /dev/%s", name);
  return 0;
}

int
fleetrt_devices_populate (int devfd, const struct fleetrt_config *c, fleetrt_error **err)
{
  int ret;
  for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++)
    if ((ret = make_node (devfd, default_devices[i].name, S_IFCHR, 0666,
                          makedev (default_devices[i].major, default_devices[i].minor), 0, 0, err))
        < 0)
      return ret;
  for (size_t i = 0; i < c->n_devices; i++)
    {
      const struct fleetrt_device *d = &c->devices[i];
      const char *rel;
      mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
      if (strncmp (d->path, "/dev/", 5) != 0 || strchr (d->path + 5, '/') || strstr (d->path, ".."))
        return fleetrt_fail_msg (err, EINVAL, "linux.devices: `%s` must be directly under /dev",
                             d->path);
      rel = d->path + 5;
      unlinkat (devfd, rel, 0);
      if ((ret = make_node (devfd, rel, type, d->mode, makedev (d->major, d->minor), d->uid,
                            d->gid, err))
          < 0)
        return ret;
    }
  for (size_t i = 0; i < sizeof default_links / sizeof default_links[0]; i++)
    {
      if (strcmp (default_links[i].name, "core") == 0 && access ("/proc/kcore", F_OK) < 0)
        continue;
      if (symlinkat (default_links[i].target, devfd, default_links[i].name) < 0 && errno != EEXIST)
        return fleetrt_fail (err, errno, "symlink /dev/%s", default_links[i].name);
    }
  return 0;
}
