#include "cgroup-internal.h"
#include "utils.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int
cg_write (const char *dir, const char *file, const char *value, fleetrt_error **err)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  int ret = write_file (p, value, strlen (value), err);
  if (ret < 0)
    return fleetrt_error_wrap (err, "cgroup: set %s to `%s`", file, value);
  return 0;
}

int
cg_read_u64 (const char *dir, const char *file, uint64_t *out, fleetrt_error **err)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  cleanup_free char *text = NULL;
  int ret = read_file (p, &text, NULL, err);
  if (ret < 0)
    return ret;
  if (strncmp (text, "max", 3) == 0)
    {
      *out = UINT64_MAX;
      return 0;
    }
  if (parse_u64 (text, out) < 0)
    return fleetrt_fail_msg (err, EINVAL, "cgroup: `%s` is not a number", p);
  return 0;
}

int
cg_read_pids (const char *dir, pid_t **out, size_t *n, fleetrt_error **err)
{
  cleanup_free char *p = xasprintf ("%s/cgroup.procs", dir);
  cleanup_free char *text = NULL;
  pid_t *pids = NULL;
  size_t count = 0;
  int ret = read_file (p, &text, NULL, err);
  if (ret < 0)
    return ret;
  for (char *s = text; *s;)
    {
      char *end;
      long v = strtol (s, &end, 10);
      if (end == s)
        break;
      pids = xrealloc (pids, (count + 1) * sizeof (pid_t));
      pids[count++] = (pid_t) v;
      s = end;
      while (*s == '\n')
        s++;
    }
  *out = pids;
  *n = count;
  return 0;
}

int
cg_kill_and_wait (const char *dir, fleetrt_error **err)
{
  for (int i = 0; i < 2000; i++)
    {
      cleanup_free pid_t *pids = NULL;
      size_t n = 0;
      int ret = cg_read_pids (dir, &pids, &n, err);
      if (ret < 0)
        {
          if (fleetrt_error_errno (*err) == ENOENT)
            {
              fleetrt_error_free (*err);
              *err = NULL;
              return 0;
            }
          return ret;
        }
      if (n == 0)
        return 0;
      for (size_t k = 0; k < n; k++)
        kill (pids[k], SIGKILL);
      nanosleep (&(struct timespec){ 0, 1000000 }, NULL);
    }
  return fleetrt_fail_msg (err, EBUSY, "cgroup `%s`: processes survive SIGKILL", dir);
}

int
cg_rmdir (const char *dir, fleetrt_error **err)
{
  for (int i = 0; i < 1000; i++)
    {
      if (rmdir (dir) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY)
        break;
      nanosleep (&(struct timespec){ 0, 1000000 }, NULL);
    }
  return fleetrt_fail (err, errno, "cgroup: remove `%s`", dir);
}
