/* Protection of the runtime binary against a container overwriting it through /proc/PID/exe
 * (CVE-2019-5736): fleetrt and fleet-shim re-exec themselves from a read-only view of their own
 * binary before they touch a container. */
#ifndef FLEETRT_SELFEXE_H
#define FLEETRT_SELFEXE_H

#include "error.h"

/* If /proc/self/exe is writable through its mount, re-execs from a detached read-only bind
 * mount of it (open_tree + mount_setattr), or failing that from a sealed memfd copy. Returns
 * only on failure, or when already protected. The original path is kept in
 * FLEETRT_ORIGINAL_EXE for finding sibling binaries. */
int fleetrt_selfexe_protect (char **argv, fleetrt_error **err);

/* Directory of the original binary (for locating fleet-shim beside fleetrt). */
char *fleetrt_selfexe_dir (void);

#endif
