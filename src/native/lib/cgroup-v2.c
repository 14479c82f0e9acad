/* cgroup v2: the unified hierarchy at MOUNT. */
#include "cgroup-internal.h"
#include "utils.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char *
dir_of (const char *mount, const char *path)
{
  return xasprintf ("%s%s", mount, path);
}

/* Delegates the controllers down to the container's parent; each is enabled separately so a
 * controller the kernel lacks does not block the others. */
static void
enable_controllers (const char *mount, const char *path)
{
  static const char *const ctrls[] = { "+cpu", "+memory", "+pids", "+cpuset" };
  cleanup_free char *p = xstrdup (path);
  char *last = strrchr (p, '/');
  if (last == NULL)
    return;
  *last = '\0';
  for (char *s = p;; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char saved = *s;
      *s = '\0';
      cleanup_free char *d = dir_of (mount, p);
      mkdir (d, 0755);
      for (size_t i = 0; i < sizeof ctrls / sizeof ctrls[0]; i++)
        {
          fleetrt_error *ignored = NULL;
          if (cg_write (d, "cgroup.subtree_control", ctrls[i], &ignored) < 0)
            fleetrt_error_free (ignored);
        }
      *s = saved;
      if (saved == '\0')
        break;
    }
}

static int
v2_create (const char *mount, const char *path, const struct fleetrt_resources *res,
           fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, path);
  char buf[64];
  int ret;

  enable_controllers (mount, path);
  if (mkdir (d, 0755) < 0 && errno != EEXIST)
    return fleetrt_fail (err, errno, "cgroup: mkdir `%s`", d);
  if (res->has_memory_limit)
    {
      if (res->memory_limit < 0)
        strcpy (buf, "max");
      else
        snprintf (buf, sizeof buf, "%" PRId64, res->memory_limit);
      if ((ret = cg_write (d, "memory.max", buf, err)) < 0)
        return ret;
    }
  if (res->has_memory_swap)
    {
      /* OCI's swap is memory+swap; v2's swap.max is swap alone. */
      if (res->memory_swap < 0)
        strcpy (buf, "max");
      else
        snprintf (buf, sizeof buf, "%" PRId64,
                  res->memory_swap - (res->has_memory_limit && res->memory_limit > 0
                                          ? res->memory_limit
                                          : 0));
      if ((ret = cg_write (d, "memory.swap.max", buf, err)) < 0)
        return ret;
    }
  if (res->has_cpu_shares && res->cpu_shares)
    {
      snprintf (buf, sizeof buf, "%" PRIu64, fleetrt_cgroup_shares_to_weight (res->cpu_shares));
      if ((ret = cg_write (d, "cpu.weight", buf, err)) < 0)
        return ret;
    }
  if (res->has_cpu_quota || res->has_cpu_period)
    {
      uint64_t period = res->has_cpu_period && res->cpu_period ? res->cpu_period : 100000;
      if (!res->has_cpu_quota || res->cpu_quota <= 0)
        snprintf (buf, sizeof buf, "max %" PRIu64, period);
      else
        snprintf (buf, sizeof buf, "%" PRId64 " %" PRIu64, res->cpu_quota, period);
      if ((ret = cg_write (d, "cpu.max", buf, err)) < 0)
        return ret;
    }
  if (res->cpu_cpus && (ret = cg_write (d, "cpuset.cpus", res->cpu_cpus, err)) < 0)
    return ret;
  if (res->cpu_mems && (ret = cg_write (d, "cpuset.mems", res->cpu_mems, err)) < 0)
    return ret;
  if (res->has_pids_limit)
    {
      if (res->pids_limit > 0)
        snprintf (buf, sizeof buf, "%" PRId64, res->pids_limit);
      else
        strcpy (buf, "max");
      if ((ret = cg_write (d, "pids.max", buf, err)) < 0)
        return ret;
    }
  return 0;
}

static int
v2_enter (const char *mount, const char *path, pid_t pid, fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, path);
  char buf[32];
  snprintf (buf, sizeof buf, "%d", pid);
  return cg_write (d, "cgroup.procs", buf, err);
}

static int
events_value (const char *dir, const char *file, const char *key, uint64_t *out,
              fleetrt_error **err)
{
  cleanup_free char *p = xasprintf ("%s/%s", dir, file);
  cleanup_free char *text = NULL;
  int ret = read_file (p, &text, NULL, err);
  if (ret < 0)
    return ret;
  if (fleetrt_cgroup_read_keyed (text, key, out) < 0)
    *out = 0;
  return 0;
}

static int
v2_freeze (const char *mount, const char *path, bool frozen, fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, path);
  int ret = cg_write (d, "cgroup.freeze", frozen ? "1" : "0", err);
  if (ret < 0)
    return ret;
  for (int i = 0; i < 5000; i++)
    {
      uint64_t v = 0;
      if ((ret = events_value (d, "cgroup.events", "frozen", &v, err)) < 0)
        return ret;
      if ((v == 1) == frozen)
        return 0;
      nanosleep (&(struct timespec){ 0, 1000000 }, NULL);
    }
  return fleetrt_fail_msg (err, ETIMEDOUT, "cgroup: freeze did not settle");
}

static int
v2_is_frozen (const char *mount, const char *path, bool *frozen, fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, path);
  uint64_t v = 0;
  int ret = cg_read_u64 (d, "cgroup.freeze", &v, err);
  if (ret < 0)
    return ret;
  *frozen = v == 1;
  return 0;
}

static int
v2_pids (const char *mount, const char *path, pid_t **out, size_t *n, fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, path);
  return cg_read_pids (d, out, n, err);
}

static int
v2_destroy (const char *mount, const char *path, fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, path);
  struct stat st;
  int ret;
  if (stat (d, &st) < 0)
    return 0;
  {
    fleetrt_error *ignored = NULL;
    /* cgroup.kill (5.14+) kills frozen tasks too; older kernels fall back to the loop. */
    if (cg_write (d, "cgroup.kill", "1", &ignored) < 0)
      {
        fleetrt_error_free (ignored);
        cg_write (d, "cgroup.freeze", "0", &ignored);
        fleetrt_error_free (ignored);
      }
  }
  if ((ret = cg_kill_and_wait (d, err)) < 0)
    return ret;
  return cg_rmdir (d, err);
}

static int
v2_stats (const char *mount, const char *path, struct fleetrt_cgroup_stats *st,
          fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, path);
  uint64_t usec = 0, limit = 0;
  int ret;
  fleetrt_error *ignored = NULL;

  memset (st, 0, sizeof *st);
  if ((ret = events_value (d, "cpu.stat", "usage_usec", &usec, err)) < 0)
    return ret;
  st->cpu_usage_ns = usec * 1000;
  if ((ret = cg_read_u64 (d, "memory.current", &st->memory_usage_bytes, err)) < 0)
    return ret;
  /* memory.peak arrived in 5.19. */
  if (cg_read_u64 (d, "memory.peak", &st->memory_peak_bytes, &ignored) < 0)
    {
      fleetrt_error_free (ignored);
      st->memory_peak_bytes = st->memory_usage_bytes;
    }
  if ((ret = cg_read_u64 (d, "memory.max", &limit, err)) < 0)
    return ret;
  st->memory_limit_bytes = limit == UINT64_MAX ? -1 : (int64_t) limit;
  if ((ret = cg_read_u64 (d, "pids.current", &st->pids_current, err)) < 0)
    return ret;
  return events_value (d, "memory.events", "oom_kill", &st->oom_kills, err);
}

const struct fleetrt_cgroup_backend fleetrt_cgroup_v2 = {
  .name = "v2",
  .create = v2_create,
  .enter = v2_enter,
  .destroy = v2_destroy,
  .freeze = v2_freeze,
  .is_frozen = v2_is_frozen,
  .stats = v2_stats,
  .pids = v2_pids,
};
