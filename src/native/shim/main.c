/* fleet-shim — the per-container parent process.
 *
 *   fleet-shim --root DIR --id ID --bundle B [--log FILE --log-max-bytes N --log-files K]
 *              [--ready-fd FD] [--start] [--no-fork]
 *
 * It detaches (fork + setsid) so the container outlives whoever spawned it, creates the
 * container (the init waits for `start` unless --start), writes "ok PID\n" or "error MSG\n" to
 * FD, then stays the init's parent: it reaps it and records exit code, signal, OOM and time in
 * STATE/exit.json; copies stdout/stderr into the rotated JSON-lines log (with --log; without it
 * the container inherits the shim's stdio); and serves STATE/shim.sock, one request per
 * connection, one line each:
 *   kill SIGNAL        -> ok | error MSG
 *   state | stats      -> the JSON of fleetrt_container_state_json / _stats_json
 *   exec ["cmd",...]   -> {"exit_code":N,"stdout":"..","stderr":".."} when it exits
 *   logs               -> the current log file, then each new entry until the container exits
 * It exits once the init has exited and its output is drained. */
#include "fleetrt.h"
#include "container.h"
#include "log.h"
#include "selfexe.h"
#include "status.h"
#include "utils.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#define EXEC_CAPTURE_MAX (1 << 20)
#define MAX_CLIENTS 64

enum source_kind
{
  SRC_SIGNAL,
  SRC_STDOUT,
  SRC_STDERR,
  SRC_LISTEN,
  SRC_CLIENT,
  SRC_EXEC_OUT,
  SRC_EXEC_ERR,
};

struct source
{
  enum source_kind kind;
  int fd;
  struct client *client;
};

struct client
{
  struct source src, exec_out, exec_err;
  char req[4096];
  size_t used;
  bool follower;
  pid_t exec_pid;
  int exec_status;
  bool exec_done;
  char *cap[2];
  size_t cap_len[2];
};

struct stream
{
  struct source src;
  const char *name;
  char *partial;
  size_t len;
};

static struct
{
  const char *root, *id;
  int epfd;
  pid_t init;
  bool init_exited;
  struct shim_log log;
  bool logging;
  struct stream out, err;
  struct client *clients[MAX_CLIENTS];
  char *sock_path;
} shim;

static void
watch (struct source *s, int fd, enum source_kind kind, struct client *c)
{
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };
  s->fd = fd;
  s->kind = kind;
  s->client = c;
  epoll_ctl (shim.epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void
unwatch (struct source *s)
{
  if (s->fd < 0)
    return;
  epoll_ctl (shim.epfd, EPOLL_CTL_DEL, s->fd, NULL);
  close (s->fd);
  s->fd = -1;
}

static void
send_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = send (fd, buf, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      buf += n;
      len -= n;
    }
}

static void
client_close (struct client *c)
{
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (shim.clients[i] == c)
      shim.clients[i] = NULL;
  unwatch (&c->src);
  unwatch (&c->exec_out);
  unwatch (&c->exec_err);
  free (c->cap[0]);
  free (c->cap[1]);
  free (c);
}

static void
log_entry (const char *stream, const char *text, size_t len)
{
  char *entry = NULL;
  int n;
  if (!shim.logging)
    return;
  n = shim_log_write (&shim.log, stream, text, len, &entry);
  if (n < 0)
    return;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (shim.clients[i] && shim.clients[i]->follower)
      send_all (shim.clients[i]->src.fd, entry, n);
  free (entry);
}

/* Splits the pipe's bytes into lines; a line longer than 16 KiB is cut into entries. */
static void
stream_read (struct stream *s)
{
  char buf[8192];
  ssize_t n = read (s->src.fd, buf, sizeof buf);
  if (n <= 0)
    {
      if (n < 0 && errno == EINTR)
        return;
      if (s->len)
        log_entry (s->name, s->partial, s->len);
      s->len = 0;
      unwatch (&s->src);
      return;
    }
  s->partial = xrealloc (s->partial, s->len + n);
  memcpy (s->partial + s->len, buf, n);
  s->len += n;
  for (;;)
    {
      char *nl = memchr (s->partial, '\n', s->len);
      size_t take = nl ? (size_t) (nl - s->partial) + 1 : (s->len >= 16384 ? 16384 : 0);
      if (take == 0)
        break;
      log_entry (s->name, s->partial, take);
      memmove (s->partial, s->partial + take, s->len - take);
      s->len -= take;
    }
}

static void
reply_error (struct client *c, fleetrt_error *err)
{
  char *line = xasprintf ("error %s\n", fleetrt_error_message (err));
  send_all (c->src.fd, line, strlen (line));
  free (line);
  fleetrt_error_free (err);
}

static void
exec_reply_if_done (struct client *c)
{
  json_object *o;
  const char *text;
  if (!c->exec_done || c->exec_out.fd >= 0 || c->exec_err.fd >= 0)
    return;
  o = json_object_new_object ();
  json_object_object_add (o, "exit_code",
                          json_object_new_int (WIFEXITED (c->exec_status)
                                                   ? WEXITSTATUS (c->exec_status)
                                                   : 128 + WTERMSIG (c->exec_status)));
  json_object_object_add (o, "stdout", json_object_new_string_len (c->cap[0] ? c->cap[0] : "",
                                                                   (int) c->cap_len[0]));
  json_object_object_add (o, "stderr", json_object_new_string_len (c->cap[1] ? c->cap[1] : "",
                                                                   (int) c->cap_len[1]));
  text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  send_all (c->src.fd, text, strlen (text));
  send_all (c->src.fd, "\n", 1);
  json_object_put (o);
  client_close (c);
}

static void
exec_capture (struct client *c, int which)
{
  struct source *s = which ? &c->exec_err : &c->exec_out;
  char buf[8192];
  ssize_t n = read (s->fd, buf, sizeof buf);
  if (n <= 0)
    {
      if (n < 0 && errno == EINTR)
        return;
      unwatch (s);
      exec_reply_if_done (c);
      return;
    }
  if (c->cap_len[which] + n > EXEC_CAPTURE_MAX)
    n = EXEC_CAPTURE_MAX - c->cap_len[which];
  c->cap[which] = xrealloc (c->cap[which], c->cap_len[which] + n + 1);
  memcpy (c->cap[which] + c->cap_len[which], buf, n);
  c->cap_len[which] += n;
}

static void
start_exec (struct client *c, const char *args_json)
{
  json_object *arr = json_tokener_parse (args_json);
  fleetrt_error *err = NULL;
  cleanup_free char **argv = NULL;
  int out[2] = { -1, -1 }, errp[2] = { -1, -1 };
  int stdio[3];
  size_t n;

  if (arr == NULL || !json_object_is_type (arr, json_type_array)
      || (n = json_object_array_length (arr)) == 0)
    {
      if (arr)
        json_object_put (arr);
      fleetrt_fail_msg (&err, EINVAL, "exec: expected a JSON array of strings");
      reply_error (c, err);
      client_close (c);
      return;
    }
  argv = xmalloc0 ((n + 1) * sizeof (char *));
  for (size_t i = 0; i < n; i++)
    argv[i] = (char *) json_object_get_string (json_object_array_get_idx (arr, i));
  if (pipe2 (out, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0)
    {
      fleetrt_fail (&err, errno, "exec: pipe");
      goto fail;
    }
  stdio[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  stdio[1] = out[1];
  stdio[2] = errp[1];
  if (fleetrt_container_exec_spawn (shim.root, shim.id, argv, stdio, &c->exec_pid, &err) < 0)
    {
      close (stdio[0]);
      goto fail;
    }
  close (stdio[0]);
  close (out[1]);
  close (errp[1]);
  watch (&c->exec_out, out[0], SRC_EXEC_OUT, c);
  watch (&c->exec_err, errp[0], SRC_EXEC_ERR, c);
  json_object_put (arr);
  return;
fail:
  for (int i = 0; i < 2; i++)
    {
      if (out[i] >= 0)
        close (out[i]);
      if (errp[i] >= 0)
        close (errp[i]);
    }
  json_object_put (arr);
  reply_error (c, err);
  client_close (c);
}

static void
send_file (int fd, const char *path)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  fleetrt_error *err = NULL;
  if (read_file (path, &text, &len, &err) < 0)
    {
      fleetrt_error_free (err);
      return;
    }
  send_all (fd, text, len);
}

static void
handle_request (struct client *c, char *line)
{
  fleetrt_error *err = NULL;
  char *json = NULL;

  if (strncmp (line, "kill ", 5) == 0 || strcmp (line, "kill") == 0)
    {
      int sig = line[4] ? fleetrt_signal_from_name (line + 5) : SIGTERM;
      if (sig < 0)
        fleetrt_fail_msg (&err, EINVAL, "unknown signal `%s`", line + 5);
      if (err || fleetrt_container_kill (shim.root, shim.id, sig, &err) < 0)
        reply_error (c, err);
      else
        send_all (c->src.fd, "ok\n", 3);
    }
  else if (strcmp (line, "state") == 0 || strcmp (line, "stats") == 0)
    {
      int ret = line[4] == 'e' ? fleetrt_container_state_json (shim.root, shim.id, &json, &err)
                               : fleetrt_container_stats_json (shim.root, shim.id, &json, &err);
      if (ret < 0)
        reply_error (c, err);
      else
        {
          send_all (c->src.fd, json, strlen (json));
          send_all (c->src.fd, "\n", 1);
          fleetrt_free (json);
        }
    }
  else if (strncmp (line, "exec ", 5) == 0)
    {
      start_exec (c, line + 5);
      return;
    }
  else if (strcmp (line, "logs") == 0 && shim.logging)
    {
      send_file (c->src.fd, shim.log.path);
      if (!shim.init_exited)
        {
          c->follower = true;
          return;
        }
    }
  else
    {
      fleetrt_fail_msg (&err, EINVAL, "unknown request `%.64s`", line);
      reply_error (c, err);
    }
  client_close (c);
}

static void
client_read (struct client *c)
{
  ssize_t n = recv (c->src.fd, c->req + c->used, sizeof c->req - 1 - c->used, 0);
  char *nl;
  if (n <= 0)
    {
      if (n < 0 && errno == EINTR)
        return;
      /* A follower or an exec whose client left. */
      if (c->exec_pid > 0 && !c->exec_done)
        {
          c->follower = false;
          unwatch (&c->src);
          return;
        }
      client_close (c);
      return;
    }
  if (c->follower || c->exec_pid > 0)
    return; /* no second request on one connection */
  c->used += n;
  c->req[c->used] = '\0';
  nl = strchr (c->req, '\n');
  if (nl == NULL)
    {
      if (c->used == sizeof c->req - 1)
        client_close (c);
      return;
    }
  *nl = '\0';
  handle_request (c, c->req);
}

static void
accept_client (int lfd)
{
  int fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
  struct client *c;
  int slot = -1;
  if (fd < 0)
    return;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (shim.clients[i] == NULL)
      {
        slot = i;
        break;
      }
  if (slot < 0)
    {
      close (fd);
      return;
    }
  c = xmalloc0 (sizeof *c);
  c->src.fd = c->exec_out.fd = c->exec_err.fd = -1;
  shim.clients[slot] = c;
  watch (&c->src, fd, SRC_CLIENT, c);
}

static void
reap (void)
{
  int status;
  pid_t pid;
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    {
      if (pid == shim.init)
        {
          cleanup_state struct fleetrt_state *s = NULL;
          fleetrt_error *err = NULL;
          bool oom = false;
          if (fleetrt_state_read (shim.root, shim.id, &s, &err) == 0)
            oom = fleetrt_container_oom_kills (s) > 0;
          else
            fleetrt_error_free (err), err = NULL;
          if (fleetrt_state_write_exit (shim.root, shim.id, status, oom, &err) < 0)
            fleetrt_error_free (err); /* deleted under us: nothing to record into */
          shim.init_exited = true;
          continue;
        }
      for (int i = 0; i < MAX_CLIENTS; i++)
        {
          struct client *c = shim.clients[i];
          if (c && c->exec_pid == pid)
            {
              c->exec_done = true;
              c->exec_status = status;
              if (c->src.fd < 0)
                client_close (c);
              else
                exec_reply_if_done (c);
              break;
            }
        }
    }
}

static int
listen_socket (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd;
  if (strlen (path) >= sizeof addr.sun_path)
    return -1;
  strcpy (addr.sun_path, path);
  unlink (path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 16) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static void
ready (int fd, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
ready (int fd, const char *fmt, ...)
{
  va_list ap;
  if (fd < 0)
    return;
  va_start (ap, fmt);
  vdprintf (fd, fmt, ap);
  va_end (ap);
}

static int
usage (void)
{
  fprintf (stderr, "usage: fleet-shim --root DIR --id ID --bundle BUNDLE [--log FILE "
                   "[--log-max-bytes N] [--log-files K]] [--ready-fd FD] [--start] [--no-fork]\n");
  return 2;
}

int
main (int argc, char **argv)
{
  const char *bundle = NULL, *log_path = NULL;
  uint64_t log_max = 10 << 20, log_files = 3;
  int ready_fd = -1;
  bool start = false, no_fork = false;
  fleetrt_error *err = NULL;
  struct fleetrt_create_opts o = { .wait_for_start = true, .stdio = { -1, -1, -1 } };
  int out_pipe[2] = { -1, -1 }, err_pipe[2] = { -1, -1 };
  struct source sigsrc, listen_src;
  sigset_t mask;
  int sfd, lfd, devnull;
  time_t exited_at = 0;

  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (strcmp (a, "--version") == 0)
        {
          printf ("fleet-shim version %s\n", fleetrt_version ());
          return 0;
        }
      if (strcmp (a, "--start") == 0)
        start = true;
      else if (strcmp (a, "--no-fork") == 0)
        no_fork = true;
      else if (v == NULL)
        return usage ();
      else if (strcmp (a, "--root") == 0)
        shim.root = v, i++;
      else if (strcmp (a, "--id") == 0)
        shim.id = v, i++;
      else if (strcmp (a, "--bundle") == 0)
        bundle = v, i++;
      else if (strcmp (a, "--log") == 0)
        log_path = v, i++;
      else if (strcmp (a, "--log-max-bytes") == 0 && parse_u64 (v, &log_max) == 0)
        i++;
      else if (strcmp (a, "--log-files") == 0 && parse_u64 (v, &log_files) == 0)
        i++;
      else if (strcmp (a, "--ready-fd") == 0)
        ready_fd = atoi (v), i++;
      else
        return usage ();
    }
  if (shim.id == NULL || bundle == NULL)
    return usage ();
  if (fleetrt_selfexe_protect (argv, &err) < 0)
    {
      ready (ready_fd, "error %s\n", fleetrt_error_message (err));
      return 1;
    }
  if (ready_fd >= 0)
    fcntl (ready_fd, F_SETFD, FD_CLOEXEC);

  /* Leave the spawner's process group and session: its death must not reach the container. */
  if (!no_fork)
    {
      pid_t p = fork ();
      if (p < 0)
        {
          ready (ready_fd, "error fork: %s\n", strerror (errno));
          return 1;
        }
      if (p > 0)
        _exit (0);
    }
  setsid ();
  prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  if (log_path)
    {
      if (shim_log_open (&shim.log, log_path, log_max, (unsigned) log_files) < 0)
        {
          ready (ready_fd, "error open log `%s`: %s\n", log_path, strerror (errno));
          return 1;
        }
      shim.logging = true;
      if (pipe2 (out_pipe, O_CLOEXEC) < 0 || pipe2 (err_pipe, O_CLOEXEC) < 0)
        {
          ready (ready_fd, "error pipe: %s\n", strerror (errno));
          return 1;
        }
      o.stdio[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC);
      o.stdio[1] = out_pipe[1];
      o.stdio[2] = err_pipe[1];
    }

  sigemptyset (&mask);
  sigaddset (&mask, SIGCHLD);
  sigprocmask (SIG_BLOCK, &mask, NULL);
  signal (SIGPIPE, SIG_IGN);
  sfd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  o.wait_for_start = !start;
  if (fleetrt_container_create_with (shim.root, shim.id, bundle, &o, &shim.init, &err) < 0)
    {
      ready (ready_fd, "error %s\n", fleetrt_error_message (err));
      return 1;
    }
  if (log_path)
    {
      close (o.stdio[0]);
      close (out_pipe[1]);
      close (err_pipe[1]);
    }

  shim.epfd = epoll_create1 (EPOLL_CLOEXEC);
  watch (&sigsrc, sfd, SRC_SIGNAL, NULL);
  shim.out.name = "stdout";
  shim.err.name = "stderr";
  shim.out.src.fd = shim.err.src.fd = -1;
  if (log_path)
    {
      watch (&shim.out.src, out_pipe[0], SRC_STDOUT, NULL);
      watch (&shim.err.src, err_pipe[0], SRC_STDERR, NULL);
    }
  {
    cleanup_free char *dir = fleetrt_state_dir (shim.root, shim.id);
    shim.sock_path = xasprintf ("%s/shim.sock", dir);
  }
  lfd = listen_socket (shim.sock_path);
  if (lfd >= 0)
    watch (&listen_src, lfd, SRC_LISTEN, NULL);

  ready (ready_fd, "ok %d\n", shim.init);
  if (ready_fd >= 0)
    close (ready_fd);
  /* Nothing of the spawner's terminal or pipes stays open in the shim. */
  devnull = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0)
    for (int i = 0; i < 3; i++)
      dup2 (devnull, i);

  for (;;)
    {
      struct epoll_event evs[16];
      int n;
      if (shim.init_exited)
        {
          if (exited_at == 0)
            exited_at = time (NULL);
          /* Output held open by an escaped grandchild must not keep us forever. */
          if ((shim.out.src.fd < 0 && shim.err.src.fd < 0) || time (NULL) - exited_at > 2)
            break;
        }
      n = epoll_wait (shim.epfd, evs, 16, shim.init_exited ? 200 : -1);
      for (int i = 0; i < n; i++)
        {
          struct source *s = evs[i].data.ptr;
          switch (s->kind)
            {
            case SRC_SIGNAL:
              {
                struct signalfd_siginfo si;
                while (read (sfd, &si, sizeof si) == sizeof si)
                  ;
                reap ();
                break;
              }
            case SRC_STDOUT:
              stream_read (&shim.out);
              break;
            case SRC_STDERR:
              stream_read (&shim.err);
              break;
            case SRC_LISTEN:
              accept_client (lfd);
              break;
            case SRC_CLIENT:
              client_read (s->client);
              break;
            case SRC_EXEC_OUT:
              exec_capture (s->client, 0);
              break;
            case SRC_EXEC_ERR:
              exec_capture (s->client, 1);
              break;
            }
        }
    }
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (shim.clients[i])
      client_close (shim.clients[i]);
  unlink (shim.sock_path);
  if (shim.logging)
    shim_log_close (&shim.log);
  return 0;
}
