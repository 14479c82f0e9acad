#include "config.h"
#include "utils.h"
#include "fleetrt.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define CFG_FAIL(err, ...) fleetrt_fail_msg (err, EINVAL, "config.json: " __VA_ARGS__)

static const char *const cap_names[] = {
  "CAP_CHOWN",           "CAP_DAC_OVERRIDE",   "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
  "CAP_FSETID",          "CAP_KILL",           "CAP_SETGID",          "CAP_SETUID",
  "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",       "CAP_NET_RAW",        "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",      "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",        "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",       "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
  "CAP_LEASE",           "CAP_AUDIT_WRITE",    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",      "CAP_SYSLOG",          "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",     "CAP_PERFMON",         "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
};

int
fleetrt_cap_from_name (const char *name)
{
  for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
    if (strcasecmp (name, cap_names[i]) == 0)
      return (int) i;
  return -1;
}

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

const char *
fleetrt_rlimit_name (int resource)
{
  for (size_t i = 0; i < sizeof rlimit_names / sizeof rlimit_names[0]; i++)
    if (rlimit_names[i].resource == resource)
      return rlimit_names[i].name;
  return "RLIMIT_?";
}

static const struct
{
  const char *name;
  int type;
} ns_names[] = {
  { "pid", CLONE_NEWPID },         { "network", CLONE_NEWNET }, { "mount", CLONE_NEWNS },
  { "ipc", CLONE_NEWIPC },         { "uts", CLONE_NEWUTS },     { "cgroup", CLONE_NEWCGROUP },
  { "user", CLONE_NEWUSER },       { "time", CLONE_NEWTIME },
};

static const struct
{
  const char *name;
  bool clear;
  unsigned long flag;
} mount_flags[] = {
  { "ro", false, MS_RDONLY },         { "rw", true, MS_RDONLY },
  { "nosuid", false, MS_NOSUID },     { "suid", true, MS_NOSUID },
  { "nodev", false, MS_NODEV },       { "dev", true, MS_NODEV },
  { "noexec", false, MS_NOEXEC },     { "exec", true, MS_NOEXEC },
  { "sync", false, MS_SYNCHRONOUS },  { "async", true, MS_SYNCHRONOUS },
  { "dirsync", false, MS_DIRSYNC },   { "remount", false, MS_REMOUNT },
  { "mand", false, MS_MANDLOCK },     { "nomand", true, MS_MANDLOCK },
  { "atime", true, MS_NOATIME },      { "noatime", false, MS_NOATIME },
  { "diratime", true, MS_NODIRATIME }, { "nodiratime", false, MS_NODIRATIME },
  { "relatime", false, MS_RELATIME }, { "norelatime", true, MS_RELATIME },
  { "strictatime", false, MS_STRICTATIME }, { "nostrictatime", true, MS_STRICTATIME },
  { "lazytime", false, MS_LAZYTIME }, { "nolazytime", true, MS_LAZYTIME },
};

static const struct
{
  const char *name;
  unsigned long flags;
} propagation_flags[] = {
  { "private", MS_PRIVATE },           { "rprivate", MS_PRIVATE | MS_REC },
  { "shared", MS_SHARED },             { "rshared", MS_SHARED | MS_REC },
  { "slave", MS_SLAVE },               { "rslave", MS_SLAVE | MS_REC },
  { "unbindable", MS_UNBINDABLE },     { "runbindable", MS_UNBINDABLE | MS_REC },
};

bool
fleetrt_mount_option (const char *opt, unsigned long *set, unsigned long *clear,
                      unsigned long *propagation, bool *bind)
{
  for (size_t i = 0; i < sizeof mount_flags / sizeof mount_flags[0]; i++)
    if (strcmp (opt, mount_flags[i].name) == 0)
      {
        if (mount_flags[i].clear)
          {
            *clear |= mount_flags[i].flag;
            *set &= ~mount_flags[i].flag;
          }
        else
          *set |= mount_flags[i].flag;
        return true;
      }
  for (size_t i = 0; i < sizeof propagation_flags / sizeof propagation_flags[0]; i++)
    if (strcmp (opt, propagation_flags[i].name) == 0)
      {
        *propagation = propagation_flags[i].flags;
        return true;
      }
  if (strcmp (opt, "bind") == 0 || strcmp (opt, "rbind") == 0)
    {
      *bind = true;
      *set |= MS_BIND | (opt[0] == 'r' ? MS_REC : 0);
      return true;
    }
  /* Accepted and ignored, as runc does: they need an idmapped or copy-up feature. */
  if (strcmp (opt, "tmpcopyup") == 0 || strcmp (opt, "nosymfollow") == 0)
    return true;
  return false;
}

/* --- json helpers: every getter names the field path in its error. --- */

static json_object *
field (json_object *obj, const char *key)
{
  json_object *v = NULL;
  if (obj == NULL || !json_object_object_get_ex (obj, key, &v))
    return NULL;
  if (json_object_get_type (v) == json_type_null)
    return NULL;
  return v;
}

static int
get_string (json_object *obj, const char *key, const char *path, char **out, fleetrt_error **err)
{
  json_object *v = field (obj, key);
  if (v == NULL)
    return 0;
  if (!json_object_is_type (v, json_type_string))
    return CFG_FAIL (err, "%s: expected a string", path);
  *out = xstrdup (json_object_get_string (v));
  return 1;
}

static int
get_bool (json_object *obj, const char *key, const char *path, bool *out, fleetrt_error **err)
{
  json_object *v = field (obj, key);
  if (v == NULL)
    return 0;
  if (!json_object_is_type (v, json_type_boolean))
    return CFG_FAIL (err, "%s: expected true or false", path);
  *out = json_object_get_boolean (v);
  return 1;
}

static int
get_int64 (json_object *obj, const char *key, const char *path, int64_t *out, fleetrt_error **err)
{
  json_object *v = field (obj, key);
  if (v == NULL)
    return 0;
  if (!json_object_is_type (v, json_type_int))
    return CFG_FAIL (err, "%s: expected an integer", path);
  errno = 0;
  *out = json_object_get_int64 (v);
  if (errno == EINVAL)
    return CFG_FAIL (err, "%s: expected an integer", path);
  return 1;
}

static int
get_uint64 (json_object *obj, const char *key, const char *path, uint64_t *out,
            fleetrt_error **err)
{
  json_object *v = field (obj, key);
  if (v == NULL)
    return 0;
  if (!json_object_is_type (v, json_type_int))
    return CFG_FAIL (err, "%s: expected a non-negative integer", path);
  if (json_object_get_int64 (v) < 0)
    return CFG_FAIL (err, "%s: expected a non-negative integer", path);
  *out = json_object_get_uint64 (v);
  return 1;
}

static int
get_object (json_object *obj, const char *key, const char *path, json_object **out,
            fleetrt_error **err)
{
  json_object *v = field (obj, key);
  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_object_is_type (v, json_type_object))
    return CFG_FAIL (err, "%s: expected an object", path);
  *out = v;
  return 1;
}

static int
get_array (json_object *obj, const char *key, const char *path, const char *what,
           json_object **out, fleetrt_error **err)
{
  json_object *v = field (obj, key);
  *out = NULL;
  if (v == NULL)
    return 0;
  if (!json_object_is_type (v, json_type_array))
    return CFG_FAIL (err, "%s: expected an array of %s", path, what);
  *out = v;
  return 1;
}

/* A NULL-terminated vector from an array of strings. */
static int
get_strv (json_object *obj, const char *key, const char *path, char ***out, size_t *count,
          fleetrt_error **err)
{
  json_object *arr;
  cleanup_strv char **v = NULL;
  size_t n;
  int ret = get_array (obj, key, path, "strings", &arr, err);
  if (ret <= 0)
    return ret;
  n = json_object_array_length (arr);
  v = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    {
      json_object *s = json_object_array_get_idx (arr, i);
      if (!json_object_is_type (s, json_type_string))
        return CFG_FAIL (err, "%s: expected an array of strings", path);
      v[i] = xstrdup (json_object_get_string (s));
    }
  *out = steal_ptr (&v);
  if (count)
    *count = n;
  return 1;
}

static char *
absolute_in_bundle (const char *bundle, const char *p)
{
  if (p[0] == '/')
    return xstrdup (p);
  return xasprintf ("%s/%s", bundle, p);
}

static int
parse_caps (json_object *caps, struct fleetrt_process *proc, fleetrt_error **err)
{
  static const char *const sets[CAPSET_COUNT]
      = { "bounding", "effective", "permitted", "inheritable", "ambient" };
  proc->has_caps = true;
  for (int s = 0; s < CAPSET_COUNT; s++)
    {
      json_object *arr;
      char path[64];
      snprintf (path, sizeof path, "process.capabilities.%s", sets[s]);
      int ret = get_array (caps, sets[s], path, "strings", &arr, err);
      if (ret < 0)
        return ret;
      if (ret == 0)
        continue;
      for (size_t i = 0; i < json_object_array_length (arr); i++)
        {
          json_object *v = json_object_array_get_idx (arr, i);
          int cap;
          if (!json_object_is_type (v, json_type_string))
            return CFG_FAIL (err, "%s: expected an array of strings", path);
          cap = fleetrt_cap_from_name (json_object_get_string (v));
          if (cap < 0)
            return CFG_FAIL (err, "%s[%zu]: unknown capability `%s`", path, i,
                             json_object_get_string (v));
          proc->caps[s] |= 1ULL << cap;
        }
    }
  return 0;
}

static int
parse_process (json_object *p, struct fleetrt_process *proc, fleetrt_error **err)
{
  json_object *user, *caps, *rl;
  int64_t v;
  int ret;

  ret = get_bool (p, "terminal", "process.terminal", &proc->terminal, err);
  if (ret < 0)
    return ret;
  if (proc->terminal)
    return CFG_FAIL (err, "process.terminal: a terminal is not supported, use false");

  ret = get_strv (p, "args", "process.args", &proc->args, NULL, err);
  if (ret < 0)
    return ret;
  if (ret == 0 || proc->args[0] == NULL || proc->args[0][0] == '\0')
    return CFG_FAIL (err, "process.args: expected a non-empty array of strings");
  ret = get_strv (p, "env", "process.env", &proc->env, NULL, err);
  if (ret < 0)
    return ret;
  if (ret == 0)
    proc->env = xmalloc0 (sizeof (char *));
  ret = get_string (p, "cwd", "process.cwd", &proc->cwd, err);
  if (ret < 0)
    return ret;
  if (ret == 0)
    proc->cwd = xstrdup ("/");
  if (proc->cwd[0] != '/')
    return CFG_FAIL (err, "process.cwd: `%s` is not an absolute path", proc->cwd);

  ret = get_object (p, "user", "process.user", &user, err);
  if (ret < 0)
    return ret;
  if (user)
    {
      json_object *gids;
      if ((ret = get_int64 (user, "uid", "process.user.uid", &v, err)) < 0)
        return ret;
      if (ret && (v < 0 || v > UINT32_MAX - 1))
        return CFG_FAIL (err, "process.user.uid: %lld is out of range", (long long) v);
      proc->uid = ret ? (uid_t) v : 0;
      if ((ret = get_int64 (user, "gid", "process.user.gid", &v, err)) < 0)
        return ret;
      if (ret && (v < 0 || v > UINT32_MAX - 1))
        return CFG_FAIL (err, "process.user.gid: %lld is out of range", (long long) v);
      proc->gid = ret ? (gid_t) v : 0;
      ret = get_array (user, "additionalGids", "process.user.additionalGids", "integers", &gids,
                       err);
      if (ret < 0)
        return ret;
      if (gids)
        {
          proc->n_additional_gids = json_object_array_length (gids);
          proc->additional_gids = xmalloc0 (proc->n_additional_gids * sizeof (gid_t));
          for (size_t i = 0; i < proc->n_additional_gids; i++)
            {
              json_object *g = json_object_array_get_idx (gids, i);
              if (!json_object_is_type (g, json_type_int) || json_object_get_int64 (g) < 0)
                return CFG_FAIL (err, "process.user.additionalGids: expected an array of integers");
              proc->additional_gids[i] = (gid_t) json_object_get_int64 (g);
            }
        }
      if (field (user, "username"))
        return CFG_FAIL (err, "process.user.username: names are not resolved (no NSS inside the "
                              "container); give uid and gid");
    }

  ret = get_object (p, "capabilities", "process.capabilities", &caps, err);
  if (ret < 0)
    return ret;
  if (caps && (ret = parse_caps (caps, proc, err)) < 0)
    return ret;

  ret = get_array (p, "rlimits", "process.rlimits", "objects", &rl, err);
  if (ret < 0)
    return ret;
  if (rl)
    {
      proc->n_rlimits = json_object_array_length (rl);
      proc->rlimits = xmalloc0 (proc->n_rlimits * sizeof (struct fleetrt_rlimit));
      for (size_t i = 0; i < proc->n_rlimits; i++)
        {
          json_object *r = json_object_array_get_idx (rl, i);
          cleanup_free char *type = NULL;
          char path[64];
          size_t k;
          snprintf (path, sizeof path, "process.rlimits[%zu]", i);
          if (!json_object_is_type (r, json_type_object))
            return CFG_FAIL (err, "%s: expected an object", path);
          if ((ret = get_string (r, "type", "process.rlimits[].type", &type, err)) <= 0)
            return ret < 0 ? ret : CFG_FAIL (err, "%s.type: missing", path);
          for (k = 0; k < sizeof rlimit_names / sizeof rlimit_names[0]; k++)
            if (strcmp (type, rlimit_names[k].name) == 0)
              break;
          if (k == sizeof rlimit_names / sizeof rlimit_names[0])
            return CFG_FAIL (err, "%s.type: unknown rlimit `%s`", path, type);
          proc->rlimits[i].resource = rlimit_names[k].resource;
          if ((ret = get_uint64 (r, "soft", "process.rlimits[].soft", &proc->rlimits[i].soft, err))
              < 0)
            return ret;
          if ((ret = get_uint64 (r, "hard", "process.rlimits[].hard", &proc->rlimits[i].hard, err))
              < 0)
            return ret;
          if (proc->rlimits[i].soft > proc->rlimits[i].hard)
            return CFG_FAIL (err, "%s: soft limit above the hard limit", path);
        }
    }

  ret = get_bool (p, "noNewPrivileges", "process.noNewPrivileges", &proc->no_new_privileges, err);
  if (ret < 0)
    return ret;
  if ((ret = get_int64 (p, "oomScoreAdj", "process.oomScoreAdj", &v, err)) < 0)
    return ret;
  if (ret)
    {
      if (v < -1000 || v > 1000)
        return CFG_FAIL (err, "process.oomScoreAdj: %lld is outside -1000..1000", (long long) v);
      proc->has_oom_score_adj = true;
      proc->oom_score_adj = (int) v;
    }
  return 0;
}

static int
parse_mounts (json_object *arr, struct fleetrt_config *c, fleetrt_error **err)
{
  c->n_mounts = json_object_array_length (arr);
  c->mounts = xmalloc0 (c->n_mounts * sizeof (struct fleetrt_mount));
  for (size_t i = 0; i < c->n_mounts; i++)
    {
      json_object *m = json_object_array_get_idx (arr, i), *opts;
      struct fleetrt_mount *mt = &c->mounts[i];
      cleanup_free char *source = NULL;
      char path[64];
      size_t data_len = 0;
      unsigned long clear = 0;
      int ret;

      snprintf (path, sizeof path, "mounts[%zu]", i);
      if (!json_object_is_type (m, json_type_object))
        return CFG_FAIL (err, "%s: expected an object", path);
      if ((ret = get_string (m, "destination", "mounts[].destination", &mt->destination, err)) < 0)
        return ret;
      if (ret == 0 || mt->destination[0] != '/')
        return CFG_FAIL (err, "%s.destination: expected an absolute path", path);
      if ((ret = get_string (m, "type", "mounts[].type", &mt->type, err)) < 0)
        return ret;
      if ((ret = get_string (m, "source", "mounts[].source", &source, err)) < 0)
        return ret;
      ret = get_array (m, "options", "mounts[].options", "strings", &opts, err);
      if (ret < 0)
        return ret;
      for (size_t k = 0; opts && k < json_object_array_length (opts); k++)
        {
          json_object *o = json_object_array_get_idx (opts, k);
          const char *s;
          if (!json_object_is_type (o, json_type_string))
            return CFG_FAIL (err, "%s.options: expected an array of strings", path);
          s = json_object_get_string (o);
          if (fleetrt_mount_option (s, &mt->flags, &clear, &mt->propagation, &mt->bind))
            continue;
          mt->data = xrealloc (mt->data, data_len + strlen (s) + 2);
          data_len += sprintf (mt->data + data_len, "%s%s", data_len ? "," : "", s);
        }
      if (mt->type && strcmp (mt->type, "bind") == 0)
        {
          mt->bind = true;
          if (!(mt->flags & MS_BIND))
            mt->flags |= MS_BIND;
        }
      mt->readonly = (mt->flags & MS_RDONLY) != 0;
      if (mt->bind)
        {
          if (source == NULL)
            return CFG_FAIL (err, "%s.source: a bind mount needs a source", path);
          mt->source = absolute_in_bundle (c->bundle, source);
        }
      else
        {
          if (mt->type == NULL)
            return CFG_FAIL (err, "%s.type: missing (and the options name no bind)", path);
          mt->source = source ? steal_ptr (&source) : xstrdup (mt->type);
        }
    }
  return 0;
}

static int
parse_device_rules (json_object *arr, struct fleetrt_resources *res, fleetrt_error **err)
{
  res->n_device_rules = json_object_array_length (arr);
  res->device_rules = xmalloc0 (res->n_device_rules * sizeof (struct fleetrt_device_rule));
  for (size_t i = 0; i < res->n_device_rules; i++)
    {
      json_object *d = json_object_array_get_idx (arr, i);
      struct fleetrt_device_rule *r = &res->device_rules[i];
      cleanup_free char *type = NULL;
      cleanup_free char *access = NULL;
      int ret;
      if (!json_object_is_type (d, json_type_object))
        return CFG_FAIL (err, "linux.resources.devices[%zu]: expected an object", i);
      if ((ret = get_bool (d, "allow", "linux.resources.devices[].allow", &r->allow, err)) < 0)
        return ret;
      if (ret == 0)
        return CFG_FAIL (err, "linux.resources.devices[%zu].allow: missing", i);
      if ((ret = get_string (d, "type", "linux.resources.devices[].type", &type, err)) < 0)
        return ret;
      r->type = type ? type[0] : 'a';
      if (type && (strlen (type) != 1 || strchr ("acb", type[0]) == NULL))
        return CFG_FAIL (err, "linux.resources.devices[%zu].type: expected a, c or b", i);
      r->major = r->minor = -1;
      if ((ret = get_int64 (d, "major", "linux.resources.devices[].major", &r->major, err)) < 0)
        return ret;
      if ((ret = get_int64 (d, "minor", "linux.resources.devices[].minor", &r->minor, err)) < 0)
        return ret;
      if ((ret = get_string (d, "access", "linux.resources.devices[].access", &access, err)) < 0)
        return ret;
      if (access == NULL)
        strcpy (r->access, "rwm");
      else if (strlen (access) > 3 || strspn (access, "rwm") != strlen (access))
        return CFG_FAIL (err, "linux.resources.devices[%zu].access: expected letters of rwm", i);
      else
        strcpy (r->access, access);
    }
  return 0;
}

static int
parse_resources (json_object *r, struct fleetrt_resources *res, fleetrt_error **err)
{
  json_object *mem, *cpu, *pids, *devs;
  int ret;

  if ((ret = get_array (r, "devices", "linux.resources.devices", "objects", &devs, err)) < 0)
    return ret;
  if (devs && (ret = parse_device_rules (devs, res, err)) < 0)
    return ret;

  if ((ret = get_object (r, "memory", "linux.resources.memory", &mem, err)) < 0)
    return ret;
  if (mem)
    {
      if ((ret = get_int64 (mem, "limit", "linux.resources.memory.limit", &res->memory_limit, err))
          < 0)
        return ret;
      res->has_memory_limit = ret;
      if ((ret = get_int64 (mem, "swap", "linux.resources.memory.swap", &res->memory_swap, err))
          < 0)
        return ret;
      res->has_memory_swap = ret;
      if (res->has_memory_swap && res->has_memory_limit && res->memory_swap >= 0
          && res->memory_limit >= 0 && res->memory_swap < res->memory_limit)
        return CFG_FAIL (err, "linux.resources.memory.swap: memory+swap (%lld) is below the "
                              "memory limit (%lld)",
                         (long long) res->memory_swap, (long long) res->memory_limit);
    }
  if ((ret = get_object (r, "cpu", "linux.resources.cpu", &cpu, err)) < 0)
    return ret;
  if (cpu)
    {
      if ((ret = get_uint64 (cpu, "shares", "linux.resources.cpu.shares", &res->cpu_shares, err))
          < 0)
        return ret;
      res->has_cpu_shares = ret;
      if ((ret = get_int64 (cpu, "quota", "linux.resources.cpu.quota", &res->cpu_quota, err)) < 0)
        return ret;
      res->has_cpu_quota = ret;
      if ((ret = get_uint64 (cpu, "period", "linux.resources.cpu.period", &res->cpu_period, err))
          < 0)
        return ret;
      res->has_cpu_period = ret;
      if ((ret = get_string (cpu, "cpus", "linux.resources.cpu.cpus", &res->cpu_cpus, err)) < 0)
        return ret;
      if ((ret = get_string (cpu, "mems", "linux.resources.cpu.mems", &res->cpu_mems, err)) < 0)
        return ret;
    }
  if ((ret = get_object (r, "pids", "linux.resources.pids", &pids, err)) < 0)
    return ret;
  if (pids)
    {
      if ((ret = get_int64 (pids, "limit", "linux.resources.pids.limit", &res->pids_limit, err))
          < 0)
        return ret;
      res->has_pids_limit = ret;
    }
  return 0;
}

static int
parse_kv_object (json_object *obj, const char *path, struct fleetrt_kv **out, size_t *count,
                 fleetrt_error **err)
{
  size_t n = 0;
  *out = xmalloc0 (json_object_object_length (obj) * sizeof (struct fleetrt_kv));
  json_object_object_foreach (obj, key, val)
  {
    if (!json_object_is_type (val, json_type_string))
      {
        *count = n;
        return CFG_FAIL (err, "%s.%s: expected a string", path, key);
      }
    (*out)[n].key = xstrdup (key);
    (*out)[n].value = xstrdup (json_object_get_string (val));
    n++;
  }
  *count = n;
  return 0;
}

static int
parse_devices (json_object *arr, struct fleetrt_config *c, fleetrt_error **err)
{
  c->n_devices = json_object_array_length (arr);
  c->devices = xmalloc0 (c->n_devices * sizeof (struct fleetrt_device));
  for (size_t i = 0; i < c->n_devices; i++)
    {
      json_object *d = json_object_array_get_idx (arr, i);
      struct fleetrt_device *dev = &c->devices[i];
      cleanup_free char *type = NULL;
      int64_t v;
      int ret;
      if (!json_object_is_type (d, json_type_object))
        return CFG_FAIL (err, "linux.devices[%zu]: expected an object", i);
      if ((ret = get_string (d, "path", "linux.devices[].path", &dev->path, err)) < 0)
        return ret;
      if (ret == 0 || dev->path[0] != '/')
        return CFG_FAIL (err, "linux.devices[%zu].path: expected an absolute path", i);
      if ((ret = get_string (d, "type", "linux.devices[].type", &type, err)) < 0)
        return ret;
      if (ret == 0 || strlen (type) != 1 || strchr ("cbpu", type[0]) == NULL)
        return CFG_FAIL (err, "linux.devices[%zu].type: expected one of c, b, u, p", i);
      dev->type = type[0] == 'u' ? 'c' : type[0];
      if ((ret = get_int64 (d, "major", "linux.devices[].major", &dev->major, err)) < 0)
        return ret;
      if ((ret = get_int64 (d, "minor", "linux.devices[].minor", &dev->minor, err)) < 0)
        return ret;
      dev->mode = 0666;
      if ((ret = get_int64 (d, "fileMode", "linux.devices[].fileMode", &v, err)) < 0)
        return ret;
      if (ret)
        dev->mode = (mode_t) v & 07777;
      if ((ret = get_int64 (d, "uid", "linux.devices[].uid", &v, err)) < 0)
        return ret;
      dev->uid = ret ? (uid_t) v : 0;
      if ((ret = get_int64 (d, "gid", "linux.devices[].gid", &v, err)) < 0)
        return ret;
      dev->gid = ret ? (gid_t) v : 0;
    }
  return 0;
}

static int
parse_linux (json_object *l, struct fleetrt_config *c, fleetrt_error **err)
{
  json_object *ns, *res, *devs, *sysctl;
  cleanup_free char *prop = NULL;
  int ret;

  if ((ret = get_array (l, "namespaces", "linux.namespaces", "objects", &ns, err)) < 0)
    return ret;
  if (ns)
    {
      c->n_namespaces = json_object_array_length (ns);
      c->namespaces = xmalloc0 (c->n_namespaces * sizeof (struct fleetrt_namespace));
      for (size_t i = 0; i < c->n_namespaces; i++)
        {
          json_object *n = json_object_array_get_idx (ns, i);
          cleanup_free char *type = NULL;
          size_t k;
          if (!json_object_is_type (n, json_type_object))
            return CFG_FAIL (err, "linux.namespaces[%zu]: expected an object", i);
          if ((ret = get_string (n, "type", "linux.namespaces[].type", &type, err)) < 0)
            return ret;
          if (ret == 0)
            return CFG_FAIL (err, "linux.namespaces[%zu].type: missing", i);
          for (k = 0; k < sizeof ns_names / sizeof ns_names[0]; k++)
            if (strcmp (type, ns_names[k].name) == 0)
              break;
          if (k == sizeof ns_names / sizeof ns_names[0])
            return CFG_FAIL (err, "linux.namespaces[%zu].type: unknown namespace `%s`", i, type);
          if (ns_names[k].type == CLONE_NEWUSER || ns_names[k].type == CLONE_NEWTIME)
            return CFG_FAIL (err, "linux.namespaces[%zu].type: `%s` namespaces are not supported",
                             i, type);
          for (size_t j = 0; j < i; j++)
            if (c->namespaces[j].type == ns_names[k].type)
              return CFG_FAIL (err, "linux.namespaces[%zu].type: `%s` given twice", i, type);
          c->namespaces[i].type = ns_names[k].type;
          if ((ret = get_string (n, "path", "linux.namespaces[].path", &c->namespaces[i].path, err))
              < 0)
            return ret;
        }
    }
  if ((ret = get_object (l, "resources", "linux.resources", &res, err)) < 0)
    return ret;
  if (res && (ret = parse_resources (res, &c->resources, err)) < 0)
    return ret;
  if ((ret = get_string (l, "cgroupsPath", "linux.cgroupsPath", &c->cgroups_path, err)) < 0)
    return ret;
  if (c->cgroups_path && (c->cgroups_path[0] != '/' || strstr (c->cgroups_path, "..")))
    return CFG_FAIL (err, "linux.cgroupsPath: expected an absolute path without `..` (systemd "
                          "slice:prefix:name is not supported)");
  if ((ret = get_strv (l, "maskedPaths", "linux.maskedPaths", &c->masked_paths,
                       &c->n_masked_paths, err))
      < 0)
    return ret;
  if ((ret = get_strv (l, "readonlyPaths", "linux.readonlyPaths", &c->readonly_paths,
                       &c->n_readonly_paths, err))
      < 0)
    return ret;
  if ((ret = get_array (l, "devices", "linux.devices", "objects", &devs, err)) < 0)
    return ret;
  if (devs && (ret = parse_devices (devs, c, err)) < 0)
    return ret;
  c->resources.extra_devices = c->devices;
  c->resources.n_extra_devices = c->n_devices;
  if ((ret = get_object (l, "sysctl", "linux.sysctl", &sysctl, err)) < 0)
    return ret;
  if (sysctl && (ret = parse_kv_object (sysctl, "linux.sysctl", &c->sysctl, &c->n_sysctl, err)) < 0)
    return ret;
  if ((ret = get_string (l, "rootfsPropagation", "linux.rootfsPropagation", &prop, err)) < 0)
    return ret;
  if (prop)
    {
      size_t k;
      for (k = 0; k < sizeof propagation_flags / sizeof propagation_flags[0]; k++)
        if (strcmp (prop, propagation_flags[k].name) == 0)
          break;
      if (k == sizeof propagation_flags / sizeof propagation_flags[0])
        return CFG_FAIL (err, "linux.rootfsPropagation: unknown propagation `%s`", prop);
      c->rootfs_propagation = propagation_flags[k].flags | MS_REC;
    }
  if (field (l, "seccomp"))
    return CFG_FAIL (err, "linux.seccomp: seccomp filters are not supported yet");
  if (field (l, "uidMappings") || field (l, "gidMappings"))
    return CFG_FAIL (err, "linux.uidMappings: user namespaces are not supported");
  return 0;
}

static int
parse_fleet_annotations (struct fleetrt_config *c, fleetrt_error **err)
{
  const char *layers = fleetrt_config_annotation (c, FLEETRT_ANNOTATION_LAYERS);
  const char *upper = fleetrt_config_annotation (c, FLEETRT_ANNOTATION_UPPER);
  const char *work = fleetrt_config_annotation (c, FLEETRT_ANNOTATION_WORK);

  if (layers == NULL)
    {
      if (upper || work)
        return CFG_FAIL (err, "annotations." FLEETRT_ANNOTATION_UPPER ": needs "
                              FLEETRT_ANNOTATION_LAYERS);
      return 0;
    }
  if ((upper == NULL) != (work == NULL))
    return CFG_FAIL (err, "annotations." FLEETRT_ANNOTATION_WORK ": upper and work go together");
  {
    cleanup_free char *copy = xstrdup (layers);
    char *save = NULL;
    for (char *tok = strtok_r (copy, ":", &save); tok; tok = strtok_r (NULL, ":", &save))
      {
        if (strchr (tok, ',') != NULL)
          return CFG_FAIL (err, "annotations." FLEETRT_ANNOTATION_LAYERS ": `%s` contains a comma",
                           tok);
        c->layers = xrealloc (c->layers, (c->n_layers + 2) * sizeof (char *));
        c->layers[c->n_layers++] = absolute_in_bundle (c->bundle, tok);
        c->layers[c->n_layers] = NULL;
      }
  }
  if (c->n_layers == 0)
    return CFG_FAIL (err, "annotations." FLEETRT_ANNOTATION_LAYERS ": no layer directory");
  if (upper)
    {
      c->upper_dir = absolute_in_bundle (c->bundle, upper);
      c->work_dir = absolute_in_bundle (c->bundle, work);
    }
  return 0;
}

int
fleetrt_config_parse (const char *text, const char *bundle, struct fleetrt_config **out,
                      fleetrt_error **err)
{
  cleanup_config struct fleetrt_config *c = xmalloc0 (sizeof *c);
  json_tokener *tok = json_tokener_new ();
  json_object *root, *root_obj, *proc, *linux_obj, *mounts, *ann;
  int ret;

  c->bundle = xstrdup (bundle);
  root = json_tokener_parse_ex (tok, text, (int) strlen (text));
  if (root == NULL || json_tokener_get_parse_end (tok) < strlen (text))
    {
      size_t offset = json_tokener_get_parse_end (tok);
      enum json_tokener_error jerr = json_tokener_get_error (tok);
      if (root)
        {
          json_object_put (root);
          root = NULL;
        }
      json_tokener_free (tok);
      if (jerr == json_tokener_continue)
        return CFG_FAIL (err, "invalid JSON: unexpected end of input");
      if (jerr == json_tokener_success)
        return CFG_FAIL (err, "invalid JSON: trailing data at offset %zu", offset);
      return CFG_FAIL (err, "invalid JSON at offset %zu: %s", offset,
                       json_tokener_error_desc (jerr));
    }
  json_tokener_free (tok);

  if (!json_object_is_type (root, json_type_object))
    {
      json_object_put (root);
      return CFG_FAIL (err, "expected a JSON object at the top");
    }

#define TRY(expr)                                                                                 \
  do                                                                                              \
    {                                                                                             \
      if ((ret = (expr)) < 0)                                                                     \
        goto out;                                                                                 \
    }                                                                                             \
  while (0)

  TRY (get_string (root, "ociVersion", "ociVersion", &c->oci_version, err));
  if (ret == 0)
    {
      ret = CFG_FAIL (err, "ociVersion: missing");
      goto out;
    }
  TRY (get_object (root, "annotations", "annotations", &ann, err));
  if (ann)
    TRY (parse_kv_object (ann, "annotations", &c->annotations, &c->n_annotations, err));
  TRY (get_object (root, "root", "root", &root_obj, err));
  if (root_obj)
    {
      cleanup_free char *p = NULL;
      TRY (get_string (root_obj, "path", "root.path", &p, err));
      if (p)
        c->root_path = absolute_in_bundle (bundle, p);
      TRY (get_bool (root_obj, "readonly", "root.readonly", &c->root_readonly, err));
    }
  if (c->root_path == NULL)
    {
      ret = CFG_FAIL (err, "root.path: missing");
      goto out;
    }
  TRY (get_string (root, "hostname", "hostname", &c->hostname, err));
  TRY (get_object (root, "process", "process", &proc, err));
  if (proc == NULL)
    {
      ret = CFG_FAIL (err, "process: missing");
      goto out;
    }
  TRY (parse_process (proc, &c->process, err));
  TRY (get_array (root, "mounts", "mounts", "objects", &mounts, err));
  if (mounts)
    TRY (parse_mounts (mounts, c, err));
  TRY (get_object (root, "linux", "linux", &linux_obj, err));
  if (linux_obj)
    TRY (parse_linux (linux_obj, c, err));
  TRY (parse_fleet_annotations (c, err));
  if (fleetrt_config_namespace (c, CLONE_NEWNS) == NULL)
    {
      ret = CFG_FAIL (err, "linux.namespaces: a mount namespace is required");
      goto out;
    }
  if (c->hostname && fleetrt_config_namespace (c, CLONE_NEWUTS) == NULL)
    {
      ret = CFG_FAIL (err, "hostname: setting a hostname needs a uts namespace");
      goto out;
    }
  ret = 0;
  *out = steal_ptr (&c);
#undef TRY
out:
  json_object_put (root);
  return ret;
}

/* 0 when path is a directory, else the errno to report. */
static int
check_dir (const char *path)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return errno;
  return S_ISDIR (st.st_mode) ? 0 : ENOTDIR;
}

int
fleetrt_config_load (const char *bundle, struct fleetrt_config **out, fleetrt_error **err)
{
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *abs = NULL;
  cleanup_config struct fleetrt_config *c = NULL;
  int ret, e;

  abs = realpath (bundle, NULL);
  if (abs == NULL)
    return fleetrt_fail (err, errno, "bundle `%s`", bundle);
  path = xasprintf ("%s/config.json", abs);
  ret = read_file (path, &text, NULL, err);
  if (ret < 0)
    return ret;
  ret = fleetrt_config_parse (text, abs, &c, err);
  if (ret < 0)
    return ret;
  if ((e = check_dir (c->root_path)))
    return fleetrt_fail (err, e, "root.path: rootfs `%s`", c->root_path);
  for (size_t i = 0; i < c->n_layers; i++)
    if ((e = check_dir (c->layers[i])))
      return fleetrt_fail (err, e, "annotations." FLEETRT_ANNOTATION_LAYERS ": layer `%s`",
                           c->layers[i]);
  if (c->upper_dir)
    for (int k = 0; k < 2; k++)
      {
        const char *d = k ? c->work_dir : c->upper_dir;
        if ((e = check_dir (d)))
          return fleetrt_fail (err, e, "annotations.%s: directory `%s`",
                               k ? FLEETRT_ANNOTATION_WORK : FLEETRT_ANNOTATION_UPPER, d);
      }
  *out = steal_ptr (&c);
  return 0;
}

const struct fleetrt_namespace *
fleetrt_config_namespace (const struct fleetrt_config *c, int type)
{
  for (size_t i = 0; i < c->n_namespaces; i++)
    if (c->namespaces[i].type == type)
      return &c->namespaces[i];
  return NULL;
}

const char *
fleetrt_config_annotation (const struct fleetrt_config *c, const char *key)
{
  for (size_t i = 0; i < c->n_annotations; i++)
    if (strcmp (c->annotations[i].key, key) == 0)
      return c->annotations[i].value;
  return NULL;
}

static void
free_strv (char **v)
{
  if (v == NULL)
    return;
  for (size_t i = 0; v[i]; i++)
    free (v[i]);
  free (v);
}

static void
free_kv (struct fleetrt_kv *kv, size_t n)
{
  for (size_t i = 0; kv && i < n; i++)
    {
      free (kv[i].key);
      free (kv[i].value);
    }
  free (kv);
}

void
fleetrt_config_free (struct fleetrt_config *c)
{
  if (c == NULL)
    return;
  free (c->oci_version);
  free (c->bundle);
  free (c->root_path);
  free (c->hostname);
  free (c->process.additional_gids);
  free_strv (c->process.args);
  free_strv (c->process.env);
  free (c->process.cwd);
  free (c->process.rlimits);
  for (size_t i = 0; c->mounts && i < c->n_mounts; i++)
    {
      free (c->mounts[i].destination);
      free (c->mounts[i].type);
      free (c->mounts[i].source);
      free (c->mounts[i].data);
    }
  free (c->mounts);
  for (size_t i = 0; c->namespaces && i < c->n_namespaces; i++)
    free (c->namespaces[i].path);
  free (c->namespaces);
  free (c->resources.cpu_cpus);
  free (c->resources.device_rules);
  free (c->resources.cpu_mems);
  free (c->cgroups_path);
  free_strv (c->masked_paths);
  free_strv (c->readonly_paths);
  for (size_t i = 0; c->devices && i < c->n_devices; i++)
    free (c->devices[i].path);
  free (c->devices);
  free_kv (c->sysctl, c->n_sysctl);
  free_kv (c->annotations, c->n_annotations);
  free_strv (c->layers);
  free (c->upper_dir);
  free (c->work_dir);
  free (c);
}
