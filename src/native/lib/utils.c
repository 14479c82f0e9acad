#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

void
cleanup_strvp (char ***v)
{
  char **p = *v;
  if (p == NULL)
    return;
  for (size_t i = 0; p[i]; i++)
    free (p[i]);
  free (p);
}

void *
xmalloc0 (size_t size)
{
  void *p = calloc (1, size ? size : 1);
  if (p == NULL)
    abort ();
  return p;
}

void *
xrealloc (void *p, size_t size)
{
  void *r = realloc (p, size ? size : 1);
  if (r == NULL)
    abort ();
  return r;
}

char *
xstrdup (const char *s)
{
  char *r;
  if (s == NULL)
    return NULL;
  r = strdup (s);
  if (r == NULL)
    abort ();
  return r;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *r = NULL;
  va_start (ap, fmt);
  if (vasprintf (&r, fmt, ap) < 0)
    abort ();
  va_end (ap);
  return r;
}

int
read_file_at (int dirfd, const char *path, char **out, size_t *len, fleetrt_error **err)
{
  cleanup_close int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *buf = NULL;
  size_t used = 0, cap = 0;

  if (fd < 0)
    return fleetrt_fail (err, errno, "open `%s`", path);
  for (;;)
    {
      ssize_t n;
      if (cap - used < 4096)
        {
          cap = cap ? cap * 2 : 8192;
          buf = xrealloc (buf, cap + 1);
        }
      n = read (fd, buf + used, cap - used);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return fleetrt_fail (err, errno, "read `%s`", path);
        }
      if (n == 0)
        break;
      used += n;
    }
  if (buf == NULL)
    buf = xmalloc0 (1);
  buf[used] = '\0';
  if (len)
    *len = used;
  *out = steal_ptr (&buf);
  return 0;
}

int
read_file (const char *path, char **out, size_t *len, fleetrt_error **err)
{
  return read_file_at (AT_FDCWD, path, out, len, err);
}

int
write_file_at (int dirfd, const char *path, const char *data, size_t len, fleetrt_error **err)
{
  cleanup_close int fd = openat (dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fleetrt_fail (err, errno, "open `%s`", path);
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return fleetrt_fail (err, errno, "write `%s`", path);
        }
      data += n;
      len -= n;
    }
  return 0;
}

int
write_file (const char *path, const char *data, size_t len, fleetrt_error **err)
{
  return write_file_at (AT_FDCWD, path, data, len, err);
}

int
write_file_atomic (const char *path, const char *data, size_t len, fleetrt_error **err)
{
  cleanup_free char *tmp = xasprintf ("%s.tmp", path);
  int ret = write_file (tmp, data, len, err);
  if (ret < 0)
    return ret;
  if (rename (tmp, path) < 0)
    {
      ret = fleetrt_fail (err, errno, "rename `%s`", tmp);
      unlink (tmp);
      return ret;
    }
  return 0;
}

int
mkdir_p (const char *path, mode_t mode, fleetrt_error **err)
{
  cleanup_free char *p = xstrdup (path);
  for (char *s = p + 1; *s; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (p, mode) < 0 && errno != EEXIST)
        return fleetrt_fail (err, errno, "mkdir `%s`", p);
      *s = '/';
    }
  if (mkdir (p, mode) < 0 && errno != EEXIST)
    return fleetrt_fail (err, errno, "mkdir `%s`", p);
  return 0;
}

static int
rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (flag == FTW_DP)
    return rmdir (path) < 0 && errno != ENOENT ? -1 : 0;
  return unlink (path) < 0 && errno != ENOENT ? -1 : 0;
}

int
rm_rf (const char *path, fleetrt_error **err)
{
  if (nftw (path, rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0 && errno != ENOENT)
    return fleetrt_fail (err, errno, "remove `%s`", path);
  return 0;
}

int
parse_u64 (const char *s, uint64_t *out)
{
  char *end;
  unsigned long long v;
  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno)
    return -1;
  while (*end == ' ' || *end == '\n' || *end == '\t')
    end++;
  if (*end)
    return -1;
  *out = v;
  return 0;
}

void
format_rfc3339_now (char *buf, size_t size)
{
  struct timespec ts;
  struct tm tm;
  char base[32];
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  strftime (base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (buf, size, "%s.%09ldZ", base, ts.tv_nsec);
}

int
proc_stat_start (pid_t pid, uint64_t *start, char *state_letter)
{
  char path[64], buf[1024];
  cleanup_close int fd = -1;
  ssize_t n;
  char *p;
  int field;

  snprintf (path, sizeof path, "/proc/%d/stat", pid);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  /* comm may hold spaces and parentheses: fields restart after the last ')'. */
  p = strrchr (buf, ')');
  if (p == NULL || p[1] == '\0')
    return -1;
  p += 2;
  if (state_letter)
    *state_letter = *p;
  for (field = 3; field < 22 && p; field++)
    {
      p = strchr (p, ' ');
      if (p)
        p++;
    }
  if (p == NULL)
    return -1;
  *start = strtoull (p, NULL, 10);
  return 0;
}

int
validate_id (const char *id, fleetrt_error **err)
{
  size_t n;
  if (id == NULL || id[0] == '\0')
    return fleetrt_fail_msg (err, EINVAL, "container id is empty");
  n = strlen (id);
  if (n > 128)
    return fleetrt_fail_msg (err, EINVAL, "container id `%.20s...` is longer than 128 characters", id);
  for (size_t i = 0; i < n; i++)
    {
      char c = id[i];
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || (i > 0 && (c == '_' || c == '-' || c == '.'));
      if (!ok)
        return fleetrt_fail_msg (err, EINVAL, "invalid container id `%s`: use letters, digits, `_.-`",
                             id);
    }
  return 0;
}

void
close_fds_from (int from, bool cloexec)
{
  if (syscall (SYS_close_range, from, ~0U, cloexec ? CLOSE_RANGE_CLOEXEC : 0) == 0)
    return;
  for (int fd = from; fd < 65536; fd++)
    {
      if (cloexec)
        fcntl (fd, F_SETFD, FD_CLOEXEC);
      else
        close (fd);
    }
}

void
close_fds_except (const int *keep, size_t n)
{
  unsigned int from = 3;
  for (;;)
    {
      int next = -1;
      /* the smallest kept fd >= from */
      for (size_t i = 0; i < n; i++)
        if (keep[i] >= (int) from && (next < 0 || keep[i] < next))
          next = keep[i];
      if (next < 0)
        {
          syscall (SYS_close_range, from, ~0U, 0);
          return;
        }
      if ((unsigned) next > from)
        syscall (SYS_close_range, from, (unsigned) next - 1, 0);
      from = (unsigned) next + 1;
    }
}
