/* The per-container state directory STATE_ROOT/ID: what survives the process that created the
 * container, so any later process (the CLI, a restarted agent) can find and drive it. */
#ifndef FLEETRT_STATUS_H
#define FLEETRT_STATUS_H

#include "config.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum fleetrt_status
{
  FLEETRT_CREATED,
  FLEETRT_RUNNING,
  FLEETRT_PAUSED,
  FLEETRT_STOPPED,
};

struct fleetrt_state
{
  char *id;
  char *bundle;
  char *created; /* RFC 3339 */
  char *started; /* RFC 3339, set by start; may be NULL */
  char *cgroup_path;
  pid_t pid;          /* the init, in the host pid namespace */
  uint64_t pid_start; /* its start time, to tell it from a recycled pid */
  pid_t parent_pid;   /* fleet-shim, or fleetrt run in the foreground */
  json_object *annotations;
  /* From exit.json, written by the parent when the init exits. */
  bool exited;
  int exit_code;   /* as a shell reports it: 128+N for signal N */
  int exit_signal; /* 0 when it exited normally */
  bool oom_killed;
  char *finished;
};

char *fleetrt_state_dir (const char *root, const char *id);
const char *fleetrt_state_root (const char *root);

int fleetrt_state_write (const char *root, const struct fleetrt_state *s, fleetrt_error **err);
/* ENOENT with "container `ID` does not exist" when there is no such state. */
int fleetrt_state_read (const char *root, const char *id, struct fleetrt_state **out,
                        fleetrt_error **err);
int fleetrt_state_write_exit (const char *root, const char *id, int wait_status, bool oom_killed,
                              fleetrt_error **err);
void fleetrt_state_free (struct fleetrt_state *s);

/* True when s->pid is still the init it recorded (not exited, not a zombie, not recycled). */
bool fleetrt_state_init_alive (const struct fleetrt_state *s);

/* created | running | paused | stopped, from the pid, the exec fifo and the freezer. */
enum fleetrt_status fleetrt_state_status (const char *root, const struct fleetrt_state *s);
const char *fleetrt_status_name (enum fleetrt_status st);

/* The OCI state object (plus Fleet's fields); caller json_object_put()s it. */
json_object *fleetrt_state_to_json (const char *root, const struct fleetrt_state *s);

static inline void
fleetrt_state_cleanup (struct fleetrt_state **s)
{
  fleetrt_state_free (*s);
}
#define cleanup_state __attribute__ ((cleanup (fleetrt_state_cleanup)))

#endif
