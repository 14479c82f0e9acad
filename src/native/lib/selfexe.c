#include "selfexe.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

extern char **environ;

#define ORIGINAL_ENV "FLEETRT_ORIGINAL_EXE"

static bool
exe_is_protected (void)
{
  cleanup_close int fd = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  struct statvfs sv;
  int seals;
  if (fd < 0)
    return false;
  seals = fcntl (fd, F_GET_SEALS);
  if (seals >= 0 && (seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW))
                        == (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW))
    return true;
  return fstatvfs (fd, &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

static int
readonly_bind_fd (void)
{
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  cleanup_close int tree = (int) syscall (SYS_open_tree, AT_FDCWD, "/proc/self/exe",
                                          OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    return -1;
  if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return -1;
  return steal_fd (&tree);
}

static int
sealed_memfd (void)
{
  cleanup_close int src = open ("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  cleanup_close int mfd = -1;
  struct stat st;
  off_t off = 0;
  if (src < 0 || fstat (src, &st) < 0)
    return -1;
  mfd = memfd_create ("fleetrt", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return -1;
  while (off < st.st_size)
    if (sendfile (mfd, src, &off, st.st_size - off) <= 0)
      return -1;
  if (fcntl (mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    return -1;
  return steal_fd (&mfd);
}

int
fleetrt_selfexe_protect (char **argv, fleetrt_error **err)
{
  cleanup_close int fd = -1;
  if (exe_is_protected ())
    return 0;
  if (getenv (ORIGINAL_ENV) == NULL)
    {
      char buf[4096];
      ssize_t n = readlink ("/proc/self/exe", buf, sizeof buf - 1);
      if (n > 0)
        {
          buf[n] = '\0';
          setenv (ORIGINAL_ENV, buf, 1);
        }
    }
  fd = readonly_bind_fd ();
  if (fd >= 0)
    syscall (SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
  if (fd >= 0)
    close (fd);
  fd = sealed_memfd ();
  if (fd < 0)
    return fleetrt_fail (err, errno, "protect the runtime binary: memfd copy");
  syscall (SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
  return fleetrt_fail (err, errno, "protect the runtime binary: re-exec");
}

char *
fleetrt_selfexe_dir (void)
{
  const char *orig = getenv (ORIGINAL_ENV);
  char buf[4096];
  char *slash;
  if (orig)
    snprintf (buf, sizeof buf, "%s", orig);
  else
    {
      ssize_t n = readlink ("/proc/self/exe", buf, sizeof buf - 1);
      if (n <= 0)
        return xstrdup (".");
      buf[n] = '\0';
    }
  slash = strrchr (buf, '/');
  if (slash)
    *slash = '\0';
  return xstrdup (buf);
}
