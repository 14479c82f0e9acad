/* The OCI runtime-spec config.json, parsed with json-c into plain C. Only the fields fleetrt
 * implements are kept; an unsupported value of a known field is an error naming that field. */
#ifndef FLEETRT_CONFIG_H
#define FLEETRT_CONFIG_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum
{
  CAPSET_BOUNDING,
  CAPSET_EFFECTIVE,
  CAPSET_PERMITTED,
  CAPSET_INHERITABLE,
  CAPSET_AMBIENT,
  CAPSET_COUNT
};

struct fleetrt_kv
{
  char *key;
  char *value;
};

struct fleetrt_mount
{
  char *destination; /* absolute, inside the container */
  char *type;        /* may be NULL for a bind mount */
  char *source;      /* host path for binds (absolute after parsing), else the fs source */
  unsigned long flags;       /* MS_* from the options */
  unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/... (with MS_REC), 0 when none */
  char *data;                /* options that are not flags, comma separated; may be NULL */
  bool bind;
  bool readonly;
};

struct fleetrt_namespace
{
  int type;   /* CLONE_NEW* */
  char *path; /* join this one instead of creating, may be NULL */
};

struct fleetrt_rlimit
{
  int resource;
  uint64_t soft;
  uint64_t hard;
};

struct fleetrt_device
{
  char *path;
  char type; /* 'c', 'b', 'p' (fifo) */
  int64_t major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

/* A linux.resources.devices rule (cgroup device access). major/minor -1 = any. */
struct fleetrt_device_rule
{
  bool allow;
  char type; /* 'a', 'c', 'b' */
  int64_t major, minor;
  char access[4]; /* subset of "rwm" */
};

struct fleetrt_resources
{
  bool has_memory_limit, has_memory_swap, has_cpu_shares, has_cpu_quota, has_cpu_period,
      has_pids_limit;
  int64_t memory_limit; /* bytes; -1 = unlimited */
  int64_t memory_swap;  /* memory + swap, as OCI and cgroup v1 memsw; -1 = unlimited */
  uint64_t cpu_shares;
  int64_t cpu_quota; /* microseconds per period; -1 = unlimited */
  uint64_t cpu_period;
  char *cpu_cpus;
  char *cpu_mems;
  int64_t pids_limit; /* <= 0 = unlimited */
  struct fleetrt_device_rule *device_rules;
  size_t n_device_rules;
  /* linux.devices, allowed in addition to the default devices (filled by the parser). */
  const struct fleetrt_device *extra_devices;
  size_t n_extra_devices;
};

struct fleetrt_process
{
  bool terminal;
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  char **args; /* NULL terminated */
  char **env;  /* NULL terminated */
  char *cwd;
  bool has_caps;
  uint64_t caps[CAPSET_COUNT];
  struct fleetrt_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  bool has_oom_score_adj;
  int oom_score_adj;
};

struct fleetrt_config
{
  char *oci_version;
  char *bundle;    /* absolute bundle directory */
  char *root_path; /* absolute */
  bool root_readonly;
  char *hostname;
  struct fleetrt_process process;
  struct fleetrt_mount *mounts;
  size_t n_mounts;
  struct fleetrt_namespace *namespaces;
  size_t n_namespaces;
  struct fleetrt_resources resources;
  char *cgroups_path;
  char **masked_paths;
  size_t n_masked_paths;
  char **readonly_paths;
  size_t n_readonly_paths;
  struct fleetrt_device *devices;
  size_t n_devices;
  struct fleetrt_kv *sysctl;
  size_t n_sysctl;
  struct fleetrt_kv *annotations;
  size_t n_annotations;
  unsigned long rootfs_propagation; /* MS_* | MS_REC, 0 = rprivate */
  /* Fleet extension, from annotations (see fleetrt.h): overlay rootfs. */
  char **layers; /* lowerdirs, top first, absolute */
  size_t n_layers;
  char *upper_dir;
  char *work_dir;
};

/* Parses config.json text; `bundle` resolves relative paths. Errors read
 * "config.json: process.args: expected an array of strings". */
int fleetrt_config_parse (const char *json, const char *bundle, struct fleetrt_config **out,
                          fleetrt_error **err);

/* Loads BUNDLE/config.json and checks that the rootfs (or every layer) exists. */
int fleetrt_config_load (const char *bundle, struct fleetrt_config **out, fleetrt_error **err);

void fleetrt_config_free (struct fleetrt_config *c);

static inline void
fleetrt_config_cleanup (struct fleetrt_config **c)
{
  fleetrt_config_free (*c);
}
#define cleanup_config __attribute__ ((cleanup (fleetrt_config_cleanup)))

/* The namespace entry of a type, or NULL when the config does not name it. */
const struct fleetrt_namespace *fleetrt_config_namespace (const struct fleetrt_config *c,
                                                          int type);

/* Looks up a value of config.annotations, NULL when absent. */
const char *fleetrt_config_annotation (const struct fleetrt_config *c, const char *key);

/* Capability name ("CAP_KILL") to number, -1 when unknown. */
int fleetrt_cap_from_name (const char *name);
/* "RLIMIT_NOFILE" for RLIMIT_NOFILE. */
const char *fleetrt_rlimit_name (int resource);
/* Mount option to flags; returns false when the option is not a flag (it goes to data). */
bool fleetrt_mount_option (const char *opt, unsigned long *set, unsigned long *clear,
                           unsigned long *propagation, bool *bind);

#endif
