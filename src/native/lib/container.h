/* Container lifecycle: create (the init process and its setup), start, run in the foreground,
 * exec, kill, delete, pause, resume, stats. The exported fleetrt_container_* calls wrap these. */
#ifndef FLEETRT_CONTAINER_H
#define FLEETRT_CONTAINER_H

#include "config.h"
#include "status.h"

#include <stdbool.h>
#include <sys/types.h>

struct fleetrt_create_opts
{
  /* true: the init waits on STATE/exec.fifo until start (create); false: it execs at once. */
  bool wait_for_start;
  /* The init's stdin/stdout/stderr; -1 keeps the caller's. */
  int stdio[3];
};

/* Creates the container; the caller becomes the init's parent. *pid gets the init's pid. */
int fleetrt_container_create_with (const char *root, const char *id, const char *bundle,
                                   const struct fleetrt_create_opts *o, pid_t *pid,
                                   fleetrt_error **err);

/* Waits for the init (forwarding SIGINT/TERM/HUP/QUIT/USR1/USR2 to it), then removes the
 * container. *exit_code is the shell-style status (128+N after signal N). */
int fleetrt_container_wait_and_delete (const char *root, const char *id, pid_t pid,
                                       int *exit_code, fleetrt_error **err);

/* Starts a process inside a running container with the container's user, caps, env and cwd.
 * args NULL-terminated; stdio -1 keeps the caller's. The caller must reap *pid. */
int fleetrt_container_exec_spawn (const char *root, const char *id, char *const *args,
                                  const int stdio[3], pid_t *pid, fleetrt_error **err);

/* The oom_kill count of the container's cgroup (0 when it is gone). */
uint64_t fleetrt_container_oom_kills (const struct fleetrt_state *s);

/* Signal helpers shared by the CLI and the shim. */
int fleetrt_signal_from_name (const char *name);

#endif
