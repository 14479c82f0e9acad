/* Namespaces: which to create at clone time, and joining existing ones by path. */
#ifndef FLEETRT_NAMESPACES_H
#define FLEETRT_NAMESPACES_H

#include "config.h"

/* CLONE_NEW* flags of the namespaces the config asks to create (no path). */
int fleetrt_ns_clone_flags (const struct fleetrt_config *c);

/* The /proc/PID/ns/ name of a CLONE_NEW* type ("net", "mnt", ...). */
const char *fleetrt_ns_proc_name (int type);

/* setns into every namespace given by path whose type is in `types`. */
int fleetrt_ns_join_paths (const struct fleetrt_config *c, int types, fleetrt_error **err);

/* Joins the namespaces of a running process (for exec), skipping those already shared. pid ns
 * is joined for children only; the caller forks afterwards. The mount namespace is joined last. */
int fleetrt_ns_join_pid (pid_t pid, int types, fleetrt_error **err);

/* Brings the loopback interface up in a new network namespace. */
int fleetrt_ns_loopback_up (fleetrt_error **err);

#endif
