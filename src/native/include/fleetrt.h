/* libfleetrt — Fleet's native container runtime core. Public API.
 *
 * Error convention (see lib/error.h): a function that can fail takes `fleetrt_error **err` as
 * its last argument, returns a negative int on failure and sets *err to an error carrying the
 * errno and a message; callers release it with fleetrt_error_free(). Nothing in the library
 * prints or exits: it runs inside the .NET agent.
 *
 * Containers are described by an OCI runtime-spec bundle (BUNDLE/config.json + rootfs). Each
 * container has a state directory STATE_ROOT/ID (default root /run/fleetrt) holding:
 *   state.json   pid, pid start time, bundle, created time, annotations, cgroup path, shim
 *   config.json  the config the container was created from
 *   exec.fifo    present while the container is created but not started
 *   exit.json    written by the container's parent (fleet-shim) when it exits:
 *                {"exit_code":N,"signal":N,"oom_killed":bool,"started":..,"finished":..}
 *   shim.sock    fleet-shim's control socket (see shim/main.c for the protocol)
 *
 * Fleet extension — overlay rootfs from layer directories, through config.json annotations:
 *   "org.fleet.rootfs.layers": "/l/top:/l/mid:/l/base"   read-only lowerdirs, top first
 *   "org.fleet.rootfs.upper":  "/c/upper"                the container's writable layer
 *   "org.fleet.rootfs.work":   "/c/work"                 overlayfs work dir (same fs as upper)
 * When layers are given, an overlay of them is mounted on root.path (which must exist, usually
 * an empty directory) inside the container's mount namespace only; without upper/work the
 * overlay is read-only. The upper directory is kept after the container exits (delete does not
 * remove it: migration carries it).
 *
 * Fleet extension — networking over rtnetlink, for a container with a new network namespace:
 *   "org.fleet.net.bridge":  "fleet0"          host bridge (created and brought up if missing)
 *   "org.fleet.net.address": "10.88.0.5/16"    the container's eth0 (a veth peer on the bridge)
 *   "org.fleet.net.gateway": "10.88.0.1"       default route (optional)
 * The bridge's own address and NAT are the host's business; the veth goes with the namespace.
 *
 * Which calls fork: fleetrt_container_create forks the container init and makes the CALLER its
 * parent — only a single-threaded process may call it (fleet-shim, the fleetrt CLI). Every other
 * call is fork-free and safe inside a multithreaded process such as the .NET agent. */
#ifndef FLEETRT_H
#define FLEETRT_H

#ifdef __cplusplus
extern "C" {
#endif

#define FLEETRT_API __attribute__((visibility("default")))

#define FLEETRT_DEFAULT_ROOT "/run/fleetrt"
#define FLEETRT_ANNOTATION_LAYERS "org.fleet.rootfs.layers"
#define FLEETRT_ANNOTATION_UPPER "org.fleet.rootfs.upper"
#define FLEETRT_ANNOTATION_WORK "org.fleet.rootfs.work"
#define FLEETRT_ANNOTATION_NET_BRIDGE "org.fleet.net.bridge"
#define FLEETRT_ANNOTATION_NET_ADDRESS "org.fleet.net.address"
#define FLEETRT_ANNOTATION_NET_GATEWAY "org.fleet.net.gateway"
/* "true": the container's pid 1 is a small init that runs the process as its child, passes
 * signals on to it, reaps orphans and exits with its status (Docker's --init). */
#define FLEETRT_ANNOTATION_INIT "org.fleet.init"

typedef struct fleetrt_error fleetrt_error;

/* The library's version, "MAJOR.MINOR.PATCH". Static storage; never freed. */
FLEETRT_API const char *fleetrt_version(void);

/* errno of the failure (0 when the cause was not a system call). */
FLEETRT_API int fleetrt_error_errno(const fleetrt_error *err);

/* The message with every context added by wrapping, outermost first. */
FLEETRT_API const char *fleetrt_error_message(const fleetrt_error *err);

FLEETRT_API void fleetrt_error_free(fleetrt_error *err);

/* Frees a string returned through a json_out parameter. */
FLEETRT_API void fleetrt_free(void *p);

/* Creates container `id` from `bundle`: namespaces, cgroup, rootfs and mounts are set up and the
 * init process waits for fleetrt_container_start before it execs process.args. The caller
 * becomes the init's parent and must reap it (fleet-shim does). Forks: single-threaded callers
 * only. state_root NULL means FLEETRT_DEFAULT_ROOT (true for every call below). Returns the
 * init's pid (> 0). */
FLEETRT_API int fleetrt_container_create(const char *state_root, const char *id,
                                         const char *bundle, fleetrt_error **err);

/* Lets a created container exec its process. Fails unless the status is `created`. */
FLEETRT_API int fleetrt_container_start(const char *state_root, const char *id,
                                        fleetrt_error **err);

/* OCI state: {"ociVersion","id","status":"created|running|stopped|paused","pid","bundle",
 * "annotations"} plus Fleet's "created", "exit_code", "exit_signal", "oom_killed" (after exit),
 * "shim_pid". *json_out is freed with fleetrt_free. */
FLEETRT_API int fleetrt_container_state_json(const char *state_root, const char *id,
                                             char **json_out, fleetrt_error **err);

/* Sends `signal` to the container's init (never to a recycled pid). */
FLEETRT_API int fleetrt_container_kill(const char *state_root, const char *id, int signal,
                                       fleetrt_error **err);

/* Removes a stopped container: cgroup and state directory. force kills a running one first.
 * The overlay upper directory is left in place. */
FLEETRT_API int fleetrt_container_delete(const char *state_root, const char *id, int force,
                                         fleetrt_error **err);

/* Freezes / thaws every process of the container (cgroup freezer). */
FLEETRT_API int fleetrt_container_pause(const char *state_root, const char *id,
                                        fleetrt_error **err);
FLEETRT_API int fleetrt_container_resume(const char *state_root, const char *id,
                                         fleetrt_error **err);

/* {"cpu_usage_ns":N,"memory_usage_bytes":N,"memory_peak_bytes":N,"memory_limit_bytes":N,
 *  "pids_current":N,"oom_kills":N}; memory_limit_bytes is -1 when unlimited. */
FLEETRT_API int fleetrt_container_stats_json(const char *state_root, const char *id,
                                             char **json_out, fleetrt_error **err);

/* A JSON array of the state objects of every container under state_root. */
FLEETRT_API int fleetrt_container_list_json(const char *state_root, char **json_out,
                                            fleetrt_error **err);

#ifdef __cplusplus
}
#endif
#endif
