/* Helpers shared by the two cgroup backends. */
#ifndef FLEETRT_CGROUP_INTERNAL_H
#define FLEETRT_CGROUP_INTERNAL_H

#include "cgroup.h"

/* Writes a value to DIR/FILE, with an error naming the file. */
int cg_write (const char *dir, const char *file, const char *value, fleetrt_error **err);
/* Reads DIR/FILE as one unsigned number; "max" reads as UINT64_MAX. */
int cg_read_u64 (const char *dir, const char *file, uint64_t *out, fleetrt_error **err);
/* Reads the pids listed in DIR/cgroup.procs. */
int cg_read_pids (const char *dir, pid_t **out, size_t *n, fleetrt_error **err);
/* SIGKILLs everything in DIR/cgroup.procs and waits (bounded) until it is empty. */
int cg_kill_and_wait (const char *dir, fleetrt_error **err);
/* rmdir, retrying briefly on EBUSY (processes still exiting). ENOENT is success. */
int cg_rmdir (const char *dir, fleetrt_error **err);

#endif
