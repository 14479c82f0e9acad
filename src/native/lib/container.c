#include "container.h"
#include "caps.h"
#include "cgroup.h"
#include "mounts.h"
#include "namespaces.h"
#include "net.h"
#include "utils.h"
#include "fleetrt.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Messages on the init's sync socket (SOCK_SEQPACKET, one per send). */
enum
{
  SYNC_READY = 'R', /* setup done; waiting on exec.fifo */
  SYNC_ERROR = 'E', /* followed by int errno and the message */
  SYNC_CGROUP = 'C', /* parent -> init: you are in the container's cgroup */
};

/* In the init: wait until the parent has moved us into the cgroup. */
static int
wait_cgroup_joined (int sync_fd, fleetrt_error **err)
{
  char c = 0;
  ssize_t n;
  do
    n = recv (sync_fd, &c, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n != 1 || c != SYNC_CGROUP)
    return fleetrt_fail_msg (err, EPIPE, "the runtime did not place the init in its cgroup");
  return 0;
}

static char *
default_cgroup_path (const struct fleetrt_config *c, const char *id)
{
  return c->cgroups_path ? xstrdup (c->cgroups_path) : xasprintf ("/fleetrt/%s", id);
}

/* In the init: report the error to the parent and die. Async-signal-safe enough: the parent
 * was single-threaded when it cloned us. */
static void __attribute__ ((noreturn))
child_fail (int sync_fd, fleetrt_error *err)
{
  char buf[4096];
  int e = fleetrt_error_errno (err);
  size_t len;
  buf[0] = SYNC_ERROR;
  memcpy (buf + 1, &e, sizeof e);
  len = snprintf (buf + 1 + sizeof e, sizeof buf - 1 - sizeof e, "%s",
                  fleetrt_error_message (err));
  len = len >= sizeof buf - 1 - sizeof e ? sizeof buf - 1 - sizeof e - 1 : len;
  if (sync_fd < 0 || send (sync_fd, buf, 1 + sizeof e + len, MSG_NOSIGNAL) < 0)
    {
      /* Nobody listens any more (after start): tell the container's stderr, as runc does. */
      dprintf (2, "fleetrt: %s\n", fleetrt_error_message (err));
    }
  _exit (127);
}

/* Finds args[0] in the container's PATH (from process.env, not ours). */
static int
resolve_executable (char *const *args, char *const *env, char **out, fleetrt_error **err)
{
  const char *path = DEFAULT_PATH;
  const char *name = args[0];
  struct stat st;

  if (strchr (name, '/'))
    {
      if (stat (name, &st) < 0)
        return fleetrt_fail (err, errno, "exec `%s`", name);
      if (!S_ISREG (st.st_mode) || access (name, X_OK) < 0)
        return fleetrt_fail (err, EACCES, "exec `%s`", name);
      *out = xstrdup (name);
      return 0;
    }
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], "PATH=", 5) == 0)
      path = env[i] + 5;
  {
    cleanup_free char *copy = xstrdup (path);
    char *save = NULL;
    for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
      {
        cleanup_free char *cand = xasprintf ("%s/%s", dir, name);
        if (stat (cand, &st) == 0 && S_ISREG (st.st_mode) && access (cand, X_OK) == 0)
          {
            *out = steal_ptr (&cand);
            return 0;
          }
      }
  }
  return fleetrt_fail_msg (err, ENOENT, "exec `%s`: not found in PATH `%s`", name, path);
}

/* cwd resolved inside the root (after pivot_root "/" is the container's root). */
static int
open_cwd (const char *cwd, fleetrt_error **err)
{
  struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  int fd = (int) syscall (SYS_openat2, AT_FDCWD, cwd, &how, sizeof how);
  if (fd < 0)
    return fleetrt_fail (err, errno, "process.cwd: `%s`", cwd);
  return fd;
}

static int
apply_rlimits (const struct fleetrt_process *p, fleetrt_error **err)
{
  for (size_t i = 0; i < p->n_rlimits; i++)
    {
      struct rlimit rl = { p->rlimits[i].soft, p->rlimits[i].hard };
      if (setrlimit (p->rlimits[i].resource, &rl) < 0)
        {
          struct rlimit cur = { 0, 0 };
          getrlimit (p->rlimits[i].resource, &cur);
          return fleetrt_fail (err, errno,
                               "process.rlimits: set %s to %llu/%llu (current hard limit %llu; "
                               "raising it needs CAP_SYS_RESOURCE)",
                               fleetrt_rlimit_name (p->rlimits[i].resource),
                               (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max,
                               (unsigned long long) cur.rlim_max);
        }
    }
  return 0;
}

static int
apply_oom_score (const struct fleetrt_process *p, fleetrt_error **err)
{
  char buf[16];
  if (!p->has_oom_score_adj)
    return 0;
  snprintf (buf, sizeof buf, "%d", p->oom_score_adj);
  if (write_file ("/proc/self/oom_score_adj", buf, strlen (buf), err) < 0)
    return fleetrt_error_wrap (err, "process.oomScoreAdj");
  return 0;
}

static int
apply_sysctl (const struct fleetrt_config *c, fleetrt_error **err)
{
  for (size_t i = 0; i < c->n_sysctl; i++)
    {
      cleanup_free char *key = xstrdup (c->sysctl[i].key);
      cleanup_free char *path = NULL;
      if (strstr (key, "..") || strchr (key, '/'))
        return fleetrt_fail_msg (err, EINVAL, "linux.sysctl: invalid key `%s`", key);
      for (char *s = key; *s; s++)
        if (*s == '.')
          *s = '/';
      path = xasprintf ("/proc/sys/%s", key);
      if (write_file (path, c->sysctl[i].value, strlen (c->sysctl[i].value), err) < 0)
        return fleetrt_error_wrap (err, "linux.sysctl.%s", c->sysctl[i].key);
    }
  return 0;
}

/* The process's credentials, capabilities, cwd and no_new_privs: what it runs with. */
static int
become_process (const struct fleetrt_process *p, int cwd_fd, fleetrt_error **err)
{
  int ret;
  if ((ret = fleetrt_caps_drop_bounding (p, err)) < 0)
    return ret;
  if ((ret = fleetrt_caps_set_user (p, err)) < 0)
    return ret;
  if (fchdir (cwd_fd) < 0)
    return fleetrt_fail (err, errno, "process.cwd: chdir `%s`", p->cwd);
  if (p->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return fleetrt_fail (err, errno, "process.noNewPrivileges");
  return 0;
}

/* The last steps of any container process: credentials, capabilities, no_new_privs, fds, exec.
 * Nothing here loads code from the container: no NSS, no dlopen. */
static int
exec_process (const struct fleetrt_process *p, const char *exe, int cwd_fd, fleetrt_error **err)
{
  int ret;
  if ((ret = become_process (p, cwd_fd, err)) < 0)
    return ret;
  /* Everything but stdio is closed at exec (the sync socket included, which tells the parent
   * the exec happened). */
  close_fds_from (3, true);
  execve (exe, p->args, p->env);
  return fleetrt_fail (err, errno, "exec `%s`", exe);
}

/* With FLEETRT_ANNOTATION_INIT, pid 1 stays ours: a process the kernel spares every signal it
 * has no handler for (so a web server as pid 1 ignores its stop signal) and that must reap
 * whatever is orphaned in the container. As tini does for Docker's --init: the process runs as
 * our child; every signal we get is passed on to it; when it ends we end with its status, a
 * signal as 128 + its number. We run with the process's own credentials and capabilities. */
static void __attribute__ ((noreturn))
init_run (const struct fleetrt_process *p, const char *exe, int cwd_fd, int sync_fd)
{
  fleetrt_error *err = NULL;
  sigset_t all, none;
  pid_t child;

  sigfillset (&all);
  sigemptyset (&none);
  /* Blocked before the fork, so no signal is lost between it and the wait below. */
  sigprocmask (SIG_SETMASK, &all, NULL);
  child = fork ();
  if (child < 0)
    {
      fleetrt_fail (&err, errno, "init: fork the process");
      child_fail (sync_fd, err);
    }
  if (child == 0)
    {
      sigprocmask (SIG_SETMASK, &none, NULL);
      exec_process (p, exe, cwd_fd, &err);
      child_fail (sync_fd, err);
    }
  if (become_process (p, cwd_fd, &err) < 0)
    {
      kill (child, SIGKILL);
      child_fail (sync_fd, err);
    }
  /* The sync socket tells the parent of the exec when its last holder closes it: the child's
   * copy closes at its exec. */
  close_fds_from (3, false);
  for (;;)
    {
      int status;
      pid_t pid;
      int sig = sigwaitinfo (&all, NULL);
      if (sig < 0)
        continue;
      if (sig != SIGCHLD)
        {
          kill (child, sig);
          continue;
        }
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        if (pid == child)
          _exit (WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status));
    }
}

struct init_args
{
  const struct fleetrt_config *c;
  const struct fleetrt_cgroup_backend *cg;
  const char *cgroup_path;
  int sync_fd;
  int fifo_fd; /* O_PATH to exec.fifo, or -1 */
  int clone_flags;
  const int *stdio;
  const struct fleetrt_net_config *net; /* NULL: no networking asked for */
};

static void __attribute__ ((noreturn))
init_main (struct init_args *a)
{
  const struct fleetrt_config *c = a->c;
  fleetrt_error *err = NULL;
  cleanup_free char *exe = NULL;
  int cwd_fd = -1;

  for (int i = 0; i < 3; i++)
    if (a->stdio[i] >= 0 && a->stdio[i] != i && dup2 (a->stdio[i], i) < 0)
      {
        fleetrt_fail (&err, errno, "dup2 stdio");
        child_fail (a->sync_fd, err);
      }
  /* The caller's other fds (a shim's ready pipe, an agent's sockets) must not be held by an
   * init that may wait a long time for start. */
  {
    int keep[2] = { a->sync_fd, a->fifo_fd };
    close_fds_except (keep, 2);
  }
  /* Die with the parent while still being set up. */
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

  /* The parent moves us into the cgroup while we set up (a cgroup migration waits for an RCU
   * grace period: overlapping it with the mounts saves most of it). A new cgroup namespace
   * must be rooted at the container's cgroup, so then we wait for it first. */
  if ((a->clone_flags & CLONE_NEWCGROUP)
      && (wait_cgroup_joined (a->sync_fd, &err) < 0
          || (a->net && fleetrt_net_setup_container (a->net, &err) < 0)))
    child_fail (a->sync_fd, err);
  if (fleetrt_ns_join_paths (c, ~CLONE_NEWPID, &err) < 0)
    child_fail (a->sync_fd, err);
  /* A new cgroup namespace only now, so its root is the container's cgroup. */
  if ((a->clone_flags & CLONE_NEWCGROUP) && unshare (CLONE_NEWCGROUP) < 0)
    {
      fleetrt_fail (&err, errno, "unshare the cgroup namespace");
      child_fail (a->sync_fd, err);
    }
  if ((a->clone_flags & CLONE_NEWNET) && fleetrt_ns_loopback_up (&err) < 0)
    child_fail (a->sync_fd, err);
  if (c->hostname && sethostname (c->hostname, strlen (c->hostname)) < 0)
    {
      fleetrt_fail (&err, errno, "hostname: sethostname `%s`", c->hostname);
      child_fail (a->sync_fd, err);
    }
  if (fleetrt_mounts_prepare (c, a->cgroup_path, &err) < 0 || fleetrt_mounts_pivot (c, &err) < 0
      || apply_sysctl (c, &err) < 0 || fleetrt_mounts_finish (c, &err) < 0
      || apply_rlimits (&c->process, &err) < 0
      || apply_oom_score (&c->process, &err) < 0)
    child_fail (a->sync_fd, err);
  if (resolve_executable (c->process.args, c->process.env, &exe, &err) < 0)
    child_fail (a->sync_fd, err);
  if ((cwd_fd = open_cwd (c->process.cwd, &err)) < 0)
    child_fail (a->sync_fd, err);
  /* Nothing of the container's own code runs before it is inside its cgroup. */
  if (!(a->clone_flags & CLONE_NEWCGROUP)
      && (wait_cgroup_joined (a->sync_fd, &err) < 0
          || (a->net && fleetrt_net_setup_container (a->net, &err) < 0)))
    child_fail (a->sync_fd, err);

  if (a->fifo_fd >= 0)
    {
      char path[64], byte = 0;
      char ready = SYNC_READY;
      int fifo;
      snprintf (path, sizeof path, "/proc/self/fd/%d", a->fifo_fd);
      if (send (a->sync_fd, &ready, 1, MSG_NOSIGNAL) < 0)
        _exit (127);
      close (a->sync_fd);
      a->sync_fd = -1;
      /* Blocks until fleetrt_container_start opens the other end. */
      fifo = open (path, O_WRONLY | O_CLOEXEC);
      if (fifo < 0 || write (fifo, &byte, 1) != 1)
        {
          fleetrt_fail (&err, errno, "open exec.fifo (is /proc mounted in the container?)");
          child_fail (-1, err);
        }
      close (fifo);
      close (a->fifo_fd);
    }
  prctl (PR_SET_PDEATHSIG, 0, 0, 0, 0);
  {
    const char *init = fleetrt_config_annotation (c, FLEETRT_ANNOTATION_INIT);
    if (init && strcmp (init, "true") == 0)
      init_run (&c->process, exe, cwd_fd, a->sync_fd);
  }
  exec_process (&c->process, exe, cwd_fd, &err);
  child_fail (a->sync_fd, err);
}

/* Reads the init's first sync message: 0 = ready (or exec'd, EOF), < 0 = its error. */
static int
read_sync (int fd, bool expect_ready, fleetrt_error **err)
{
  char buf[4096 + 8];
  ssize_t n;
  int resets = 0;
  /* An init that exits without reading our SYNC_CGROUP resets the socket: the error is reported
   * once, before the message it sent us, which is still queued. */
  do
    n = recv (fd, buf, sizeof buf - 1, 0);
  while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ == 0)));
  if (n < 0)
    return fleetrt_fail (err, errno, "read from the container init");
  if (n == 0)
    return expect_ready ? fleetrt_fail_msg (err, EPIPE, "the container init exited during setup") : 0;
  if (buf[0] == SYNC_READY)
    return 0;
  if (buf[0] == SYNC_ERROR && (size_t) n >= 1 + sizeof (int))
    {
      int e;
      memcpy (&e, buf + 1, sizeof e);
      buf[n] = '\0';
      /* The child's message already carries strerror. */
      fleetrt_fail (err, 0, "%s", buf + 1 + sizeof e);
      (*err)->status = e;
      return -(e ? e : 1);
    }
  return fleetrt_fail_msg (err, EPROTO, "unexpected message from the container init");
}

static int
write_config_copy (const char *dir, const char *bundle, fleetrt_error **err)
{
  cleanup_free char *src = xasprintf ("%s/config.json", bundle);
  cleanup_free char *dst = xasprintf ("%s/config.json", dir);
  cleanup_free char *text = NULL;
  size_t len;
  int ret = read_file (src, &text, &len, err);
  if (ret < 0)
    return ret;
  return write_file (dst, text, len, err);
}

int
fleetrt_container_create_with (const char *root, const char *id, const char *bundle,
                               const struct fleetrt_create_opts *o, pid_t *pid_out,
                               fleetrt_error **err)
{
  const char *sroot = fleetrt_state_root (root);
  cleanup_config struct fleetrt_config *c = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *cgroup_path = NULL;
  cleanup_close int fifo_fd = -1;
  cleanup_close int pidns_fd = -1;
  int sync[2] = { -1, -1 };
  const struct fleetrt_cgroup_backend *cg = fleetrt_cgroup_detect ();
  bool cgroup_made = false, in_cgroup = false, has_net = false;
  struct fleetrt_net_config net = { 0 };
  struct fleetrt_state st = { 0 };
  char created[64];
  pid_t pid = -1;
  int clone_flags, ret;
  json_object *ann = NULL;

  if ((ret = validate_id (id, err)) < 0)
    return ret;
  if ((ret = fleetrt_config_load (bundle, &c, err)) < 0)
    return ret;
  if ((ret = fleetrt_net_from_config (c, &net, err)) < 0)
    return ret;
  has_net = ret == 0;
  if ((ret = mkdir_p (sroot, 0711, err)) < 0)
    return ret;
  dir = fleetrt_state_dir (root, id);
  if (mkdir (dir, 0711) < 0)
    {
      if (errno == EEXIST)
        return fleetrt_fail_msg (err, EEXIST, "container `%s` already exists", id);
      return fleetrt_fail (err, errno, "mkdir `%s`", dir);
    }
  format_rfc3339_now (created, sizeof created);
  cgroup_path = default_cgroup_path (c, id);

  if (o->wait_for_start)
    {
      cleanup_free char *fifo = xasprintf ("%s/exec.fifo", dir);
      if (mkfifo (fifo, 0600) < 0)
        {
          ret = fleetrt_fail (err, errno, "mkfifo `%s`", fifo);
          goto fail;
        }
      fifo_fd = open (fifo, O_PATH | O_CLOEXEC);
      if (fifo_fd < 0)
        {
          ret = fleetrt_fail (err, errno, "open `%s`", fifo);
          goto fail;
        }
    }
  if ((ret = cg->create (fleetrt_cgroup_mount (), cgroup_path, &c->resources, err)) < 0)
    goto fail;
  cgroup_made = true;

  /* Joining a pid namespace applies to children only: do it here, before the clone. */
  {
    const struct fleetrt_namespace *pidns = fleetrt_config_namespace (c, CLONE_NEWPID);
    if (pidns && pidns->path)
      {
        pidns_fd = open (pidns->path, O_RDONLY | O_CLOEXEC);
        if (pidns_fd < 0 || setns (pidns_fd, CLONE_NEWPID) < 0)
          {
            ret = fleetrt_fail (err, errno, "linux.namespaces: join pid namespace `%s`",
                                pidns->path);
            goto fail;
          }
      }
  }
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
    {
      ret = fleetrt_fail (err, errno, "socketpair");
      goto fail;
    }
  clone_flags = fleetrt_ns_clone_flags (c);
  /* cgroup v2: clone3(CLONE_INTO_CGROUP) starts the init inside its cgroup, with no migration
   * (and no RCU grace period) at all. Older kernels fall back to clone + migration. */
  if (cg == &fleetrt_cgroup_v2)
    {
      cleanup_free char *cgdir = xasprintf ("%s%s", fleetrt_cgroup_mount (), cgroup_path);
      cleanup_close int cgfd = open (cgdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      struct clone_args ca = { .flags = (uint64_t) ((clone_flags & ~CLONE_NEWCGROUP)
                                                    | CLONE_INTO_CGROUP),
                               .exit_signal = SIGCHLD,
                               .cgroup = (uint64_t) cgfd };
      if (cgfd >= 0)
        {
          pid = (pid_t) syscall (SYS_clone3, &ca, sizeof ca);
          if (pid >= 0)
            in_cgroup = true;
        }
    }
  if (!in_cgroup)
    pid = (pid_t) syscall (SYS_clone, (clone_flags & ~CLONE_NEWCGROUP) | SIGCHLD, NULL, NULL,
                           NULL, NULL);
  if (pid < 0)
    {
      ret = fleetrt_fail (err, errno, "clone the container init");
      goto fail;
    }
  if (pid == 0)
    {
      struct init_args a
          = { c, cg, cgroup_path, sync[1], fifo_fd, clone_flags, o->stdio, has_net ? &net : NULL };
      close (sync[0]);
      init_main (&a);
    }
  close (sync[1]);
  sync[1] = -1;
  /* While the init sets up its mounts: its cgroup, and the config copy for exec. */
  ret = in_cgroup ? 0 : cg->enter (fleetrt_cgroup_mount (), cgroup_path, pid, err);
  if (ret == 0 && has_net)
    ret = fleetrt_net_setup_host (&net, id, pid, err);
  if (ret < 0)
    {
      /* An init that failed early is gone before it could be moved: its own error is the
       * one to report. */
      fleetrt_error *child_err = NULL;
      /* Never wait for an init that is itself waiting for us: stop it, then read what it may
       * have sent before. */
      kill (pid, SIGKILL);
      if (read_sync (sync[0], true, &child_err) < 0 && fleetrt_error_errno (child_err) != EPIPE)
        {
          fleetrt_error_free (*err);
          *err = child_err;
          fleetrt_error_wrap (err, "create container `%s`", id);
        }
      else
        fleetrt_error_free (child_err);
      goto fail;
    }
  if (ret == 0)
    {
      char msg = SYNC_CGROUP;
      /* A failed send means the init died: read_sync reports why. */
      (void) send (sync[0], &msg, 1, MSG_NOSIGNAL);
      ret = write_config_copy (dir, c->bundle, err);
    }
  if (ret < 0)
    goto fail;
  ret = read_sync (sync[0], o->wait_for_start, err);
  close (sync[0]);
  sync[0] = -1;
  if (ret < 0)
    {
      fleetrt_error_wrap (err, "create container `%s`", id);
      goto fail;
    }

  st.id = (char *) id;
  st.bundle = c->bundle;
  st.created = created;
  st.cgroup_path = cgroup_path;
  st.pid = pid;
  st.parent_pid = getpid ();
  if (proc_stat_start (pid, &st.pid_start, NULL) < 0)
    {
      ret = fleetrt_fail_msg (err, ESRCH, "create container `%s`: the init exited at once", id);
      goto fail;
    }
  ann = json_object_new_object ();
  for (size_t i = 0; i < c->n_annotations; i++)
    json_object_object_add (ann, c->annotations[i].key,
                            json_object_new_string (c->annotations[i].value));
  st.annotations = ann;
  ret = fleetrt_state_write (root, &st, err);
  json_object_put (ann);
  if (ret < 0)
    goto fail;
  *pid_out = pid;
  return 0;

fail:
  if (sync[0] >= 0)
    close (sync[0]);
  if (sync[1] >= 0)
    close (sync[1]);
  if (pid > 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
    }
  if (cgroup_made)
    {
      fleetrt_error *ignored = NULL;
      if (cg->destroy (fleetrt_cgroup_mount (), cgroup_path, &ignored) < 0)
        fleetrt_error_free (ignored);
    }
  {
    fleetrt_error *ignored = NULL;
    if (rm_rf (dir, &ignored) < 0)
      fleetrt_error_free (ignored);
  }
  return ret;
}

static volatile pid_t forward_pid;

static void
forward_signal (int sig)
{
  if (forward_pid > 0)
    kill (forward_pid, sig);
}

static int
remove_container (const char *root, const struct fleetrt_state *s, fleetrt_error **err)
{
  cleanup_free char *dir = fleetrt_state_dir (root, s->id);
  int ret;
  if (s->cgroup_path
      && (ret = fleetrt_cgroup_detect ()->destroy (fleetrt_cgroup_mount (), s->cgroup_path, err))
             < 0)
    return ret;
  /* The parent may still be writing exit.json: retry a removal that raced with it. */
  for (int i = 0;; i++)
    {
      ret = rm_rf (dir, err);
      if (ret == 0 || i == 20)
        return ret;
      fleetrt_error_free (*err);
      *err = NULL;
      nanosleep (&(struct timespec){ 0, 5000000 }, NULL);
    }
}

int
fleetrt_container_wait_and_delete (const char *root, const char *id, pid_t pid, int *exit_code,
                                   fleetrt_error **err)
{
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  struct sigaction sa = { 0 };
  cleanup_state struct fleetrt_state *s = NULL;
  int status = 0, ret;

  forward_pid = pid;
  sa.sa_handler = forward_signal;
  sa.sa_flags = SA_RESTART;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction (sigs[i], &sa, NULL);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return fleetrt_fail (err, errno, "wait for the container init");
  forward_pid = 0;
  *exit_code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  if ((ret = fleetrt_state_read (root, id, &s, err)) < 0)
    return ret;
  return remove_container (root, s, err);
}

uint64_t
fleetrt_container_oom_kills (const struct fleetrt_state *s)
{
  struct fleetrt_cgroup_stats cs;
  fleetrt_error *err = NULL;
  if (s->cgroup_path == NULL)
    return 0;
  if (fleetrt_cgroup_detect ()->stats (fleetrt_cgroup_mount (), s->cgroup_path, &cs, &err) < 0)
    {
      fleetrt_error_free (err);
      return 0;
    }
  return cs.oom_kills;
}

static int
load_state_config (const char *root, const struct fleetrt_state *s, struct fleetrt_config **c,
                   fleetrt_error **err)
{
  cleanup_free char *dir = fleetrt_state_dir (root, s->id);
  cleanup_free char *path = xasprintf ("%s/config.json", dir);
  cleanup_free char *text = NULL;
  int ret = read_file (path, &text, NULL, err);
  if (ret < 0)
    return ret;
  return fleetrt_config_parse (text, s->bundle ? s->bundle : "/", c, err);
}

int
fleetrt_container_exec_spawn (const char *root, const char *id, char *const *args,
                              const int stdio[3], pid_t *pid_out, fleetrt_error **err)
{
  cleanup_state struct fleetrt_state *s = NULL;
  cleanup_config struct fleetrt_config *c = NULL;
  cleanup_close int pidns = -1;
  int sync[2];
  int ns_types = 0, ret;
  pid_t pid;

  if ((ret = fleetrt_state_read (root, id, &s, err)) < 0)
    return ret;
  if (fleetrt_state_status (root, s) != FLEETRT_RUNNING)
    return fleetrt_fail_msg (err, EINVAL, "exec in container `%s`: it is %s, not running", id,
                         fleetrt_status_name (fleetrt_state_status (root, s)));
  if ((ret = load_state_config (root, s, &c, err)) < 0)
    return ret;
  for (size_t i = 0; i < c->n_namespaces; i++)
    ns_types |= c->namespaces[i].type;
  /* pid first and alone: it only applies to our children. */
  if (ns_types & CLONE_NEWPID)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/pid", s->pid);
      pidns = open (path, O_RDONLY | O_CLOEXEC);
      if (pidns < 0 || setns (pidns, CLONE_NEWPID) < 0)
        return fleetrt_fail (err, errno, "join the pid namespace of container `%s`", id);
    }
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0)
    return fleetrt_fail (err, errno, "socketpair");
  pid = fork ();
  if (pid < 0)
    {
      close (sync[0]);
      close (sync[1]);
      return fleetrt_fail (err, errno, "fork");
    }
  if (pid == 0)
    {
      fleetrt_error *cerr = NULL;
      cleanup_free char *exe = NULL;
      int cwd_fd;
      struct fleetrt_process p = c->process;
      close (sync[0]);
      for (int i = 0; i < 3; i++)
        if (stdio && stdio[i] >= 0 && stdio[i] != i && dup2 (stdio[i], i) < 0)
          {
            fleetrt_fail (&cerr, errno, "dup2 stdio");
            child_fail (sync[1], cerr);
          }
      p.args = (char **) args;
      if (s->cgroup_path
          && fleetrt_cgroup_detect ()->enter (fleetrt_cgroup_mount (), s->cgroup_path, 0, &cerr)
                 < 0)
        child_fail (sync[1], cerr);
      if (fleetrt_ns_join_pid (s->pid, ns_types & ~CLONE_NEWPID, &cerr) < 0)
        child_fail (sync[1], cerr);
      if (chdir ("/") < 0)
        {
          fleetrt_fail (&cerr, errno, "chdir /");
          child_fail (sync[1], cerr);
        }
      if (apply_rlimits (&p, &cerr) < 0 || resolve_executable (p.args, p.env, &exe, &cerr) < 0
          || (cwd_fd = open_cwd (p.cwd, &cerr)) < 0)
        child_fail (sync[1], cerr);
      exec_process (&p, exe, cwd_fd, &cerr);
      child_fail (sync[1], cerr);
    }
  close (sync[1]);
  ret = read_sync (sync[0], false, err);
  close (sync[0]);
  if (ret < 0)
    {
      waitpid (pid, NULL, 0);
      return fleetrt_error_wrap (err, "exec in container `%s`", id);
    }
  *pid_out = pid;
  return 0;
}

int
fleetrt_signal_from_name (const char *name)
{
  static const struct
  {
    const char *n;
    int s;
  } sigs[] = { { "HUP", SIGHUP },   { "INT", SIGINT },   { "QUIT", SIGQUIT }, { "KILL", SIGKILL },
               { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "STOP", SIGSTOP },
               { "CONT", SIGCONT }, { "ALRM", SIGALRM }, { "PIPE", SIGPIPE }, { "WINCH", SIGWINCH } };
  uint64_t v;
  if (parse_u64 (name, &v) == 0)
    return v > 0 && v < 65 ? (int) v : -1;
  if (strncasecmp (name, "SIG", 3) == 0)
    name += 3;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (strcasecmp (name, sigs[i].n) == 0)
      return sigs[i].s;
  return -1;
}

/* ---- the exported API ---- */

FLEETRT_API int
fleetrt_container_create (const char *state_root, const char *id, const char *bundle,
                          fleetrt_error **err)
{
  struct fleetrt_create_opts o = { .wait_for_start = true, .stdio = { -1, -1, -1 } };
  pid_t pid;
  int ret = fleetrt_container_create_with (state_root, id, bundle, &o, &pid, err);
  return ret < 0 ? ret : pid;
}

FLEETRT_API int
fleetrt_container_start (const char *state_root, const char *id, fleetrt_error **err)
{
  cleanup_state struct fleetrt_state *s = NULL;
  cleanup_free char *dir = NULL;
  cleanup_free char *fifo = NULL;
  cleanup_close int fd = -1;
  enum fleetrt_status status;
  char byte;
  int ret;

  if ((ret = fleetrt_state_read (state_root, id, &s, err)) < 0)
    return ret;
  status = fleetrt_state_status (state_root, s);
  if (status != FLEETRT_CREATED)
    return fleetrt_fail_msg (err, EINVAL, "start container `%s`: it is %s, not created", id,
                         fleetrt_status_name (status));
  dir = fleetrt_state_dir (state_root, id);
  fifo = xasprintf ("%s/exec.fifo", dir);
  /* Non-blocking open never hangs on an init that died; poll while it lives. */
  fd = open (fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return fleetrt_fail (err, errno, "start container `%s`: open exec.fifo", id);
  for (;;)
    {
      struct pollfd pfd = { fd, POLLIN, 0 };
      int n = poll (&pfd, 1, 100);
      if (n > 0 && read (fd, &byte, 1) == 1)
        break;
      if (n < 0 && errno != EINTR)
        return fleetrt_fail (err, errno, "start container `%s`: poll exec.fifo", id);
      if (!fleetrt_state_init_alive (s))
        return fleetrt_fail_msg (err, ESRCH, "start container `%s`: the init exited", id);
    }
  unlink (fifo);
  {
    char now[64];
    format_rfc3339_now (now, sizeof now);
    s->started = xstrdup (now);
    if ((ret = fleetrt_state_write (state_root, s, err)) < 0)
      return ret;
  }
  return 0;
}

FLEETRT_API int
fleetrt_container_state_json (const char *state_root, const char *id, char **json_out,
                              fleetrt_error **err)
{
  cleanup_state struct fleetrt_state *s = NULL;
  json_object *o;
  int ret;
  if ((ret = fleetrt_state_read (state_root, id, &s, err)) < 0)
    return ret;
  o = fleetrt_state_to_json (state_root, s);
  *json_out = xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (o);
  return 0;
}

FLEETRT_API int
fleetrt_container_kill (const char *state_root, const char *id, int signal, fleetrt_error **err)
{
  cleanup_state struct fleetrt_state *s = NULL;
  cleanup_close int pidfd = -1;
  uint64_t start;
  int ret;

  if ((ret = fleetrt_state_read (state_root, id, &s, err)) < 0)
    return ret;
  if (signal <= 0 || signal >= 65)
    return fleetrt_fail_msg (err, EINVAL, "kill container `%s`: invalid signal %d", id, signal);
  if (!fleetrt_state_init_alive (s))
    return fleetrt_fail_msg (err, ESRCH, "kill container `%s`: it is not running", id);
  /* Hold a pidfd, then check it is still our init: no signal can reach a recycled pid. */
  pidfd = (int) syscall (SYS_pidfd_open, s->pid, 0);
  if (pidfd < 0)
    return fleetrt_fail (err, errno, "kill container `%s`: pidfd_open", id);
  if (proc_stat_start (s->pid, &start, NULL) < 0 || start != s->pid_start)
    return fleetrt_fail_msg (err, ESRCH, "kill container `%s`: it is not running", id);
  if (syscall (SYS_pidfd_send_signal, pidfd, signal, NULL, 0) < 0)
    return fleetrt_fail (err, errno, "kill container `%s`", id);
  return 0;
}

FLEETRT_API int
fleetrt_container_delete (const char *state_root, const char *id, int force, fleetrt_error **err)
{
  cleanup_state struct fleetrt_state *s = NULL;
  enum fleetrt_status status;
  int ret;

  if ((ret = fleetrt_state_read (state_root, id, &s, err)) < 0)
    return ret;
  status = fleetrt_state_status (state_root, s);
  if (status != FLEETRT_STOPPED && !force)
    return fleetrt_fail_msg (err, EBUSY, "delete container `%s`: it is %s (stop it or force)", id,
                         fleetrt_status_name (status));
  /* Destroying the cgroup SIGKILLs whatever is left, the init included. */
  if ((ret = remove_container (state_root, s, err)) < 0)
    return fleetrt_error_wrap (err, "delete container `%s`", id);
  return 0;
}

static int
set_frozen (const char *state_root, const char *id, bool frozen, fleetrt_error **err)
{
  cleanup_state struct fleetrt_state *s = NULL;
  enum fleetrt_status status;
  int ret;
  if ((ret = fleetrt_state_read (state_root, id, &s, err)) < 0)
    return ret;
  status = fleetrt_state_status (state_root, s);
  if (frozen && status != FLEETRT_RUNNING)
    return fleetrt_fail_msg (err, EINVAL, "pause container `%s`: it is %s, not running", id,
                         fleetrt_status_name (status));
  if (!frozen && status != FLEETRT_PAUSED)
    return fleetrt_fail_msg (err, EINVAL, "resume container `%s`: it is %s, not paused", id,
                         fleetrt_status_name (status));
  if ((ret = fleetrt_cgroup_detect ()->freeze (fleetrt_cgroup_mount (), s->cgroup_path, frozen,
                                               err))
      < 0)
    return fleetrt_error_wrap (err, "%s container `%s`", frozen ? "pause" : "resume", id);
  return 0;
}

FLEETRT_API int
fleetrt_container_pause (const char *state_root, const char *id, fleetrt_error **err)
{
  return set_frozen (state_root, id, true, err);
}

FLEETRT_API int
fleetrt_container_resume (const char *state_root, const char *id, fleetrt_error **err)
{
  return set_frozen (state_root, id, false, err);
}

FLEETRT_API int
fleetrt_container_stats_json (const char *state_root, const char *id, char **json_out,
                              fleetrt_error **err)
{
  cleanup_state struct fleetrt_state *s = NULL;
  struct fleetrt_cgroup_stats cs;
  int ret;
  if ((ret = fleetrt_state_read (state_root, id, &s, err)) < 0)
    return ret;
  if ((ret = fleetrt_cgroup_detect ()->stats (fleetrt_cgroup_mount (), s->cgroup_path, &cs, err))
      < 0)
    return fleetrt_error_wrap (err, "stats of container `%s`", id);
  *json_out = xasprintf ("{\"cpu_usage_ns\":%llu,\"memory_usage_bytes\":%llu,"
                         "\"memory_peak_bytes\":%llu,\"memory_limit_bytes\":%lld,"
                         "\"pids_current\":%llu,\"oom_kills\":%llu}",
                         (unsigned long long) cs.cpu_usage_ns,
                         (unsigned long long) cs.memory_usage_bytes,
                         (unsigned long long) cs.memory_peak_bytes,
                         (long long) cs.memory_limit_bytes, (unsigned long long) cs.pids_current,
                         (unsigned long long) cs.oom_kills);
  return 0;
}

FLEETRT_API int
fleetrt_container_list_json (const char *state_root, char **json_out, fleetrt_error **err)
{
  const char *sroot = fleetrt_state_root (state_root);
  cleanup_dir DIR *d = opendir (sroot);
  json_object *arr = json_object_new_array ();
  struct dirent *de;

  if (d == NULL && errno != ENOENT)
    {
      json_object_put (arr);
      return fleetrt_fail (err, errno, "list containers in `%s`", sroot);
    }
  while (d && (de = readdir (d)))
    {
      struct fleetrt_state *s = NULL;
      fleetrt_error *ignored = NULL;
      if (de->d_name[0] == '.')
        continue;
      if (fleetrt_state_read (state_root, de->d_name, &s, &ignored) < 0)
        {
          fleetrt_error_free (ignored);
          continue;
        }
      json_object_array_add (arr, fleetrt_state_to_json (state_root, s));
      fleetrt_state_free (s);
    }
  *json_out = xstrdup (json_object_to_json_string_ext (arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (arr);
  return 0;
}

FLEETRT_API void
fleetrt_free (void *p)
{
  free (p);
}
