/* cgroup v1: one hierarchy per controller under MOUNT/<controller>. */
#include "cgroup-internal.h"
#include "utils.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* cpuset is joined only when the config names cpus or mems: an empty cpuset refuses tasks. */
static const char *const controllers[] = { "memory", "cpu", "cpuacct", "pids", "freezer",
                                           "devices", "cpuset" };
#define N_CONTROLLERS (sizeof controllers / sizeof controllers[0])

static char *
dir_of (const char *mount, const char *ctrl, const char *path)
{
  return xasprintf ("%s/%s%s", mount, ctrl, path);
}

static bool
hierarchy_exists (const char *mount, const char *ctrl)
{
  cleanup_free char *p = xasprintf ("%s/%s", mount, ctrl);
  struct stat st;
  return stat (p, &st) == 0 && S_ISDIR (st.st_mode);
}

/* A new cpuset cgroup starts empty; copy the parent's value unless the config gives one. */
static int
init_cpuset (const char *mount, const char *path, const struct fleetrt_resources *res,
             fleetrt_error **err)
{
  static const char *const files[2] = { "cpuset.cpus", "cpuset.mems" };
  cleanup_free char *dir = dir_of (mount, "cpuset", path);
  cleanup_free char *copy = xstrdup (path);
  char *slash = strrchr (copy, '/');
  cleanup_free char *parent = NULL;
  int ret;

  if (slash)
    *slash = '\0';
  parent = dir_of (mount, "cpuset", copy);
  for (int i = 0; i < 2; i++)
    {
      const char *want = i == 0 ? res->cpu_cpus : res->cpu_mems;
      cleanup_free char *inherited = NULL;
      if (want == NULL)
        {
          cleanup_free char *pf = xasprintf ("%s/%s", parent, files[i]);
          if ((ret = read_file (pf, &inherited, NULL, err)) < 0)
            return ret;
          want = inherited;
        }
      if ((ret = cg_write (dir, files[i], want, err)) < 0)
        return ret;
    }
  return 0;
}

/* mkdir -p for a cgroup; in the cpuset hierarchy every new ancestor is initialised too. */
static int
make_dirs (const char *mount, const char *ctrl, const char *path,
           const struct fleetrt_resources *res, fleetrt_error **err)
{
  cleanup_free char *p = xstrdup (path);
  for (char *s = p + 1;; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char saved = *s;
      *s = '\0';
      cleanup_free char *d = dir_of (mount, ctrl, p);
      if (mkdir (d, 0755) == 0)
        {
          if (strcmp (ctrl, "cpuset") == 0)
            {
              struct fleetrt_resources inherit = { 0 };
              int ret = init_cpuset (mount, p, saved ? &inherit : res, err);
              if (ret < 0)
                return ret;
            }
        }
      else if (errno != EEXIST)
        return fleetrt_fail (err, errno, "cgroup: mkdir `%s`", d);
      *s = saved;
      if (saved == '\0')
        break;
    }
  return 0;
}

static bool
wants_cpuset (const struct fleetrt_resources *res)
{
  return res && (res->cpu_cpus || res->cpu_mems);
}

/* The devices the container may always use, as runc allows them: null, zero, full, tty,
 * random, urandom, console, ptmx, the pts, and mknod of anything (opening needs a rule). */
static const char *const default_device_rules[] = {
  "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:8 rwm",
  "c 1:9 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
};

static void
format_rule (char *buf, size_t size, char type, int64_t major, int64_t minor, const char *access)
{
  char ma[24], mi[24];
  if (major < 0)
    strcpy (ma, "*");
  else
    snprintf (ma, sizeof ma, "%" PRId64, major);
  if (minor < 0)
    strcpy (mi, "*");
  else
    snprintf (mi, sizeof mi, "%" PRId64, minor);
  if (type == 'a')
    snprintf (buf, size, "a");
  else
    snprintf (buf, size, "%c %s:%s %s", type, ma, mi, access);
}

/* Deny everything, apply linux.resources.devices in order, then allow the defaults and the
 * devices of linux.devices. */
static int
v1_devices (const char *mount, const char *path, const struct fleetrt_resources *res,
            fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, "devices", path);
  char rule[64];
  int ret;
  if ((ret = cg_write (d, "devices.deny", "a", err)) < 0)
    return ret;
  for (size_t i = 0; i < res->n_device_rules; i++)
    {
      const struct fleetrt_device_rule *r = &res->device_rules[i];
      format_rule (rule, sizeof rule, r->type, r->major, r->minor, r->access);
      if ((ret = cg_write (d, r->allow ? "devices.allow" : "devices.deny", rule, err)) < 0)
        return ret;
    }
  for (size_t i = 0; i < sizeof default_device_rules / sizeof default_device_rules[0]; i++)
    if ((ret = cg_write (d, "devices.allow", default_device_rules[i], err)) < 0)
      return ret;
  for (size_t i = 0; i < res->n_extra_devices; i++)
    {
      const struct fleetrt_device *dev = &res->extra_devices[i];
      if (dev->type == 'p')
        continue;
      format_rule (rule, sizeof rule, dev->type, dev->major, dev->minor, "rwm");
      if ((ret = cg_write (d, "devices.allow", rule, err)) < 0)
        return ret;
    }
  return 0;
}

static int
v1_create (const char *mount, const char *path, const struct fleetrt_resources *res,
           fleetrt_error **err)
{
  char buf[64];
  int ret;

  for (size_t i = 0; i < N_CONTROLLERS; i++)
    {
      if (strcmp (controllers[i], "cpuset") == 0 && !wants_cpuset (res))
        continue;
      if (!hierarchy_exists (mount, controllers[i]))
        continue;
      if ((ret = make_dirs (mount, controllers[i], path, res, err)) < 0)
        return ret;
    }
  {
    cleanup_free char *mem = dir_of (mount, "memory", path);
    if (res->has_memory_limit)
      {
        snprintf (buf, sizeof buf, "%" PRId64, res->memory_limit < 0 ? -1 : res->memory_limit);
        if ((ret = cg_write (mem, "memory.limit_in_bytes", buf, err)) < 0)
          return ret;
      }
    if (res->has_memory_swap)
      {
        snprintf (buf, sizeof buf, "%" PRId64, res->memory_swap < 0 ? -1 : res->memory_swap);
        if ((ret = cg_write (mem, "memory.memsw.limit_in_bytes", buf, err)) < 0)
          return ret;
      }
  }
  {
    cleanup_free char *cpu = dir_of (mount, "cpu", path);
    if (res->has_cpu_shares)
      {
        snprintf (buf, sizeof buf, "%" PRIu64, res->cpu_shares);
        if ((ret = cg_write (cpu, "cpu.shares", buf, err)) < 0)
          return ret;
      }
    if (res->has_cpu_period)
      {
        snprintf (buf, sizeof buf, "%" PRIu64, res->cpu_period);
        if ((ret = cg_write (cpu, "cpu.cfs_period_us", buf, err)) < 0)
          return ret;
      }
    if (res->has_cpu_quota)
      {
        snprintf (buf, sizeof buf, "%" PRId64, res->cpu_quota < 0 ? -1 : res->cpu_quota);
        if ((ret = cg_write (cpu, "cpu.cfs_quota_us", buf, err)) < 0)
          return ret;
      }
  }
  if (hierarchy_exists (mount, "devices") && (ret = v1_devices (mount, path, res, err)) < 0)
    return ret;
  if (res->has_pids_limit)
    {
      cleanup_free char *pids = dir_of (mount, "pids", path);
      if (res->pids_limit > 0)
        snprintf (buf, sizeof buf, "%" PRId64, res->pids_limit);
      else
        strcpy (buf, "max");
      if ((ret = cg_write (pids, "pids.max", buf, err)) < 0)
        return ret;
    }
  return 0;
}

static int
v1_enter (const char *mount, const char *path, pid_t pid, fleetrt_error **err)
{
  char buf[32];
  snprintf (buf, sizeof buf, "%d", pid);
  for (size_t i = 0; i < N_CONTROLLERS; i++)
    {
      cleanup_free char *d = dir_of (mount, controllers[i], path);
      struct stat st;
      int ret;
      if (stat (d, &st) < 0)
        continue;
      if ((ret = cg_write (d, "cgroup.procs", buf, err)) < 0)
        return ret;
    }
  return 0;
}

static int
v1_freeze (const char *mount, const char *path, bool frozen, fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, "freezer", path);
  const char *want = frozen ? "FROZEN" : "THAWED";
  int ret = cg_write (d, "freezer.state", want, err);
  if (ret < 0)
    return ret;
  for (int i = 0; i < 5000; i++)
    {
      cleanup_free char *p = xasprintf ("%s/freezer.state", d);
      cleanup_free char *state = NULL;
      if ((ret = read_file (p, &state, NULL, err)) < 0)
        return ret;
      if (strncmp (state, want, strlen (want)) == 0)
        return 0;
      /* FREEZING: a task in uninterruptible sleep; writing again retries the freeze. */
      if (frozen && i % 100 == 99 && (ret = cg_write (d, "freezer.state", want, err)) < 0)
        return ret;
      nanosleep (&(struct timespec){ 0, 1000000 }, NULL);
    }
  return fleetrt_fail_msg (err, ETIMEDOUT, "cgroup: freezer did not reach %s", want);
}

static int
v1_is_frozen (const char *mount, const char *path, bool *frozen, fleetrt_error **err)
{
  cleanup_free char *p = xasprintf ("%s/freezer%s/freezer.state", mount, path);
  cleanup_free char *state = NULL;
  int ret = read_file (p, &state, NULL, err);
  if (ret < 0)
    return ret;
  *frozen = strncmp (state, "THAWED", 6) != 0;
  return 0;
}

static int
v1_pids (const char *mount, const char *path, pid_t **out, size_t *n, fleetrt_error **err)
{
  cleanup_free char *d = dir_of (mount, "pids", path);
  return cg_read_pids (d, out, n, err);
}

static int
v1_destroy (const char *mount, const char *path, fleetrt_error **err)
{
  cleanup_free char *fr = dir_of (mount, "freezer", path);
  cleanup_free char *pd = dir_of (mount, "pids", path);
  struct stat st;
  int ret;

  /* SIGKILL is not delivered to frozen tasks: thaw first. */
  if (stat (fr, &st) == 0 && (ret = cg_write (fr, "freezer.state", "THAWED", err)) < 0)
    return ret;
  if ((ret = cg_kill_and_wait (stat (pd, &st) == 0 ? pd : fr, err)) < 0)
    return ret;
  for (size_t i = 0; i < N_CONTROLLERS; i++)
    {
      cleanup_free char *d = dir_of (mount, controllers[i], path);
      if ((ret = cg_rmdir (d, err)) < 0)
        return ret;
    }
  return 0;
}

static int
v1_stats (const char *mount, const char *path, struct fleetrt_cgroup_stats *st,
          fleetrt_error **err)
{
  cleanup_free char *mem = dir_of (mount, "memory", path);
  cleanup_free char *acct = dir_of (mount, "cpuacct", path);
  cleanup_free char *pids = dir_of (mount, "pids", path);
  cleanup_free char *oomf = xasprintf ("%s/memory.oom_control", mem);
  cleanup_free char *oom = NULL;
  uint64_t limit;
  int ret;

  memset (st, 0, sizeof *st);
  if ((ret = cg_read_u64 (acct, "cpuacct.usage", &st->cpu_usage_ns, err)) < 0)
    return ret;
  if ((ret = cg_read_u64 (mem, "memory.usage_in_bytes", &st->memory_usage_bytes, err)) < 0)
    return ret;
  if ((ret = cg_read_u64 (mem, "memory.max_usage_in_bytes", &st->memory_peak_bytes, err)) < 0)
    return ret;
  if ((ret = cg_read_u64 (mem, "memory.limit_in_bytes", &limit, err)) < 0)
    return ret;
  /* v1 reports "unlimited" as the largest page-aligned signed value. */
  st->memory_limit_bytes = limit >= (UINT64_C (1) << 62) ? -1 : (int64_t) limit;
  if ((ret = cg_read_u64 (pids, "pids.current", &st->pids_current, err)) < 0)
    return ret;
  if ((ret = read_file (oomf, &oom, NULL, err)) < 0)
    return ret;
  fleetrt_cgroup_read_keyed (oom, "oom_kill", &st->oom_kills);
  return 0;
}

const struct fleetrt_cgroup_backend fleetrt_cgroup_v1 = {
  .name = "v1",
  .create = v1_create,
  .enter = v1_enter,
  .destroy = v1_destroy,
  .freeze = v1_freeze,
  .is_frozen = v1_is_frozen,
  .stats = v1_stats,
  .pids = v1_pids,
};
