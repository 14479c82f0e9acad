/* cgroups: one interface, two backends (v1 per-controller hierarchies, v2 unified), chosen at
 * run time. A container's cgroup is named by a path relative to the hierarchy root
 * (linux.cgroupsPath, default /fleetrt/ID). */
#ifndef FLEETRT_CGROUP_H
#define FLEETRT_CGROUP_H

#include "config.h"
#include "error.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct fleetrt_cgroup_stats
{
  uint64_t cpu_usage_ns;
  uint64_t memory_usage_bytes;
  uint64_t memory_peak_bytes;
  int64_t memory_limit_bytes; /* -1 unlimited */
  uint64_t pids_current;
  uint64_t oom_kills;
};

struct fleetrt_cgroup_backend
{
  const char *name; /* "v1" or "v2" */
  /* Creates the cgroup and applies the limits. */
  int (*create) (const char *mount, const char *path, const struct fleetrt_resources *res,
                 fleetrt_error **err);
  /* Moves pid (0 = the caller) into the cgroup. */
  int (*enter) (const char *mount, const char *path, pid_t pid, fleetrt_error **err);
  /* Kills what is left inside, waits for it to go and removes the cgroup. Missing is fine. */
  int (*destroy) (const char *mount, const char *path, fleetrt_error **err);
  int (*freeze) (const char *mount, const char *path, bool frozen, fleetrt_error **err);
  int (*is_frozen) (const char *mount, const char *path, bool *frozen, fleetrt_error **err);
  int (*stats) (const char *mount, const char *path, struct fleetrt_cgroup_stats *st,
                fleetrt_error **err);
  /* pids in the cgroup (for exec joining and cleanup), malloc'ed. */
  int (*pids) (const char *mount, const char *path, pid_t **out, size_t *n, fleetrt_error **err);
};

extern const struct fleetrt_cgroup_backend fleetrt_cgroup_v1;
extern const struct fleetrt_cgroup_backend fleetrt_cgroup_v2;

/* The backend for this machine: v2 when /sys/fs/cgroup is a cgroup2 mount, else v1. */
const struct fleetrt_cgroup_backend *fleetrt_cgroup_detect (void);

/* Where the hierarchies live: /sys/fs/cgroup, or FLEETRT_CGROUP_MOUNT for tests. */
const char *fleetrt_cgroup_mount (void);

/* Converts cpu shares (2..262144) to a v2 weight (1..10000), as runc does. */
uint64_t fleetrt_cgroup_shares_to_weight (uint64_t shares);

/* Reads "key value" lines of a file such as memory.stat; -1 when key is missing. */
int fleetrt_cgroup_read_keyed (const char *text, const char *key, uint64_t *out);

#endif
