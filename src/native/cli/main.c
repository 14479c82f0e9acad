/* fleetrt — a runc-compatible command line over libfleetrt:
 *   fleetrt [--root DIR] run [-d] [-b BUNDLE] ID | create [-b BUNDLE] ID | start ID | state ID
 *         | kill ID [SIGNAL] | delete [-f] ID | list [--format json] | exec ID CMD...
 *         | pause ID | resume ID | stats ID
 * `create` and `run -d` spawn a fleet-shim, which becomes the container's parent; `run` in the
 * foreground is the container's parent itself and removes the container when it exits. */
#include "fleetrt.h"
#include "container.h"
#include "selfexe.h"
#include "status.h"
#include "utils.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

enum
{
  EXIT_OK = 0,
  EXIT_FAIL = 1,
  EXIT_USAGE = 2,
};

static const char *root;

static int
report (fleetrt_error *err)
{
  fprintf (stderr, "fleetrt: %s\n", fleetrt_error_message (err));
  fleetrt_error_free (err);
  return EXIT_FAIL;
}

static int
usage (const char *msg)
{
  if (msg)
    fprintf (stderr, "fleetrt: %s\n", msg);
  fprintf (stderr,
           "usage: fleetrt [--root DIR] COMMAND\n"
           "  run [-d] [-b BUNDLE] ID     create and start; wait unless -d\n"
           "  create [-b BUNDLE] ID       create, stopped before exec\n"
           "  start ID | state ID | pause ID | resume ID | stats ID\n"
           "  kill ID [SIGNAL]            default SIGTERM\n"
           "  delete [-f] ID\n"
           "  list [--format table|json]\n"
           "  exec ID CMD [ARG...]\n");
  return EXIT_USAGE;
}

/* Options shared by run and create. */
struct create_args
{
  const char *bundle;
  const char *id;
  const char *pid_file;
  bool detach;
};

static int
parse_create (int argc, char **argv, struct create_args *a)
{
  a->bundle = ".";
  for (int i = 0; i < argc; i++)
    {
      const char *s = argv[i];
      if ((strcmp (s, "-b") == 0 || strcmp (s, "--bundle") == 0) && i + 1 < argc)
        a->bundle = argv[++i];
      else if (strncmp (s, "--bundle=", 9) == 0)
        a->bundle = s + 9;
      else if (strcmp (s, "-d") == 0 || strcmp (s, "--detach") == 0)
        a->detach = true;
      else if (strcmp (s, "--pid-file") == 0 && i + 1 < argc)
        a->pid_file = argv[++i];
      else if (s[0] == '-')
        return usage ("unknown option") ? -1 : -1;
      else if (a->id == NULL)
        a->id = s;
      else
        return usage ("too many arguments") ? -1 : -1;
    }
  if (a->id == NULL)
    return usage ("missing container id") ? -1 : -1;
  return 0;
}

static int
write_pid_file (const char *path, pid_t pid)
{
  char buf[32];
  fleetrt_error *err = NULL;
  if (path == NULL)
    return 0;
  snprintf (buf, sizeof buf, "%d", pid);
  if (write_file_atomic (path, buf, strlen (buf), &err) < 0)
    return report (err);
  return 0;
}

/* Spawns fleet-shim (it becomes the container's parent) and waits for its ready line. */
static int
create_via_shim (const struct create_args *a, pid_t *pid)
{
  cleanup_free char *dir = fleetrt_selfexe_dir ();
  cleanup_free char *shim = xasprintf ("%s/fleet-shim", dir);
  char line[4096];
  int pipefd[2];
  posix_spawn_file_actions_t fa;
  pid_t shim_pid;
  size_t used = 0;
  int status;
  char *argv[] = { shim, "--root", (char *) fleetrt_state_root (root), "--id", (char *) a->id,
                   "--bundle", (char *) a->bundle, "--ready-fd", "3", NULL };

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return fprintf (stderr, "fleetrt: pipe: %s\n", strerror (errno)), EXIT_FAIL;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_adddup2 (&fa, pipefd[1], 3);
  errno = posix_spawn (&shim_pid, shim, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (pipefd[1]);
  if (errno)
    {
      fprintf (stderr, "fleetrt: spawn `%s`: %s\n", shim, strerror (errno));
      close (pipefd[0]);
      return EXIT_FAIL;
    }
  for (;;)
    {
      ssize_t n = read (pipefd[0], line + used, sizeof line - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      used += n;
      line[used] = '\0';
      /* One line: the container's init may hold the pipe open until start. */
      if (used == sizeof line - 1 || strchr (line, '\n'))
        break;
    }
  close (pipefd[0]);
  line[used] = '\0';
  /* The shim forks once to leave our process group; reap the first one. */
  waitpid (shim_pid, &status, 0);
  if (strncmp (line, "ok ", 3) == 0)
    {
      *pid = atoi (line + 3);
      return 0;
    }
  if (strncmp (line, "error ", 6) == 0)
    {
      line[strcspn (line, "\n")] = '\0';
      fprintf (stderr, "fleetrt: %s\n", line + 6);
    }
  else
    fprintf (stderr, "fleetrt: fleet-shim failed before the container was created\n");
  return EXIT_FAIL;
}

static int
cmd_run (int argc, char **argv, bool create_only)
{
  struct create_args a = { 0 };
  fleetrt_error *err = NULL;
  pid_t pid;
  int code, ret;

  if (parse_create (argc, argv, &a) < 0)
    return EXIT_USAGE;
  if (create_only || a.detach)
    {
      if ((ret = create_via_shim (&a, &pid)) != 0)
        return ret;
      if (write_pid_file (a.pid_file, pid))
        return EXIT_FAIL;
      if (!create_only && fleetrt_container_start (root, a.id, &err) < 0)
        return report (err);
      return EXIT_OK;
    }
  {
    struct fleetrt_create_opts o = { .wait_for_start = false, .stdio = { -1, -1, -1 } };
    if (fleetrt_container_create_with (root, a.id, a.bundle, &o, &pid, &err) < 0)
      return report (err);
  }
  if (write_pid_file (a.pid_file, pid))
    return EXIT_FAIL;
  if (fleetrt_container_wait_and_delete (root, a.id, pid, &code, &err) < 0)
    return report (err);
  return code;
}

static int
print_json (int ret, char *json, fleetrt_error *err)
{
  if (ret < 0)
    return report (err);
  printf ("%s\n", json);
  fleetrt_free (json);
  return EXIT_OK;
}

static int
cmd_list (int argc, char **argv)
{
  fleetrt_error *err = NULL;
  char *json = NULL;
  bool as_json = argc >= 2 && strcmp (argv[0], "--format") == 0 && strcmp (argv[1], "json") == 0;
  json_object *arr;

  if (fleetrt_container_list_json (root, &json, &err) < 0)
    return report (err);
  if (as_json)
    return print_json (0, json, NULL);
  arr = json_tokener_parse (json);
  fleetrt_free (json);
  printf ("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
  for (size_t i = 0; arr && i < json_object_array_length (arr); i++)
    {
      json_object *o = json_object_array_get_idx (arr, i), *v;
      const char *f[5] = { "", "", "", "", "" };
      const char *keys[5] = { "id", "pid", "status", "bundle", "created" };
      for (int k = 0; k < 5; k++)
        if (json_object_object_get_ex (o, keys[k], &v))
          f[k] = json_object_get_string (v);
      printf ("%-24s %-8s %-10s %-40s %s\n", f[0], f[1], f[2], f[3], f[4]);
    }
  json_object_put (arr);
  return EXIT_OK;
}

static volatile pid_t exec_pid;

static void
forward_to_exec (int sig)
{
  if (exec_pid > 0)
    kill (exec_pid, sig);
}

static int
cmd_exec (int argc, char **argv)
{
  fleetrt_error *err = NULL;
  int stdio[3] = { -1, -1, -1 };
  int status;
  pid_t pid;
  int first = 1;

  if (argc < 2)
    return usage ("exec needs an id and a command");
  if (strcmp (argv[1], "--") == 0)
    first = 2;
  if (argc <= first)
    return usage ("exec needs a command");
  if (fleetrt_container_exec_spawn (root, argv[0], argv + first, stdio, &pid, &err) < 0)
    return report (err);
  /* Like run: signals for us are meant for the process. */
  {
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
    struct sigaction sa = { 0 };
    exec_pid = pid;
    sa.sa_handler = forward_to_exec;
    sa.sa_flags = SA_RESTART;
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++)
      sigaction (sigs[k], &sa, NULL);
  }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return EXIT_FAIL;
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static bool
run_needs_protection (int argc, char **argv)
{
  struct create_args a = { 0 };
  struct fleetrt_config *c = NULL;
  fleetrt_error *err = NULL;
  const struct fleetrt_namespace *pidns;
  bool needed;

  if (parse_create (argc, argv, &a) < 0 || a.detach)
    return true;
  if (fleetrt_config_load (a.bundle, &c, &err) < 0)
    {
      fleetrt_error_free (err); /* reported by the run itself */
      return true;
    }
  pidns = fleetrt_config_namespace (c, CLONE_NEWPID);
  needed = pidns == NULL || pidns->path != NULL;
  fleetrt_config_free (c);
  return needed;
}

int
main (int argc, char **argv)
{
  fleetrt_error *err = NULL;
  char *json = NULL;
  const char *cmd;
  int i = 1;

  for (; i < argc && argv[i][0] == '-'; i++)
    {
      if (strcmp (argv[i], "--version") == 0 || strcmp (argv[i], "-v") == 0)
        {
          printf ("fleetrt version %s\n", fleetrt_version ());
          return EXIT_OK;
        }
      if (strcmp (argv[i], "--root") == 0 && i + 1 < argc)
        root = argv[++i];
      /* runc's global options that callers such as containerd pass: accepted; errors go to
       * stderr either way. */
      else if ((strcmp (argv[i], "--log") == 0 || strcmp (argv[i], "--log-format") == 0)
               && i + 1 < argc)
        i++;
      else if (strncmp (argv[i], "--log=", 6) == 0 || strncmp (argv[i], "--log-format=", 13) == 0
               || strcmp (argv[i], "--debug") == 0)
        continue;
      else if (strncmp (argv[i], "--root=", 7) == 0)
        root = argv[i] + 7;
      else if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0)
        return usage (NULL), EXIT_OK;
      else
        return usage ("unknown global option");
    }
  if (i >= argc)
    return usage (NULL);
  cmd = argv[i++];
  argc -= i;
  argv += i;

  /* Verbs that put this binary where a container's processes can reach its /proc/PID/exe
   * re-exec from a read-only view of it first: exec (it joins the container's pid namespace)
   * and run when the container shares an existing pid namespace. A foreground run with a new
   * pid namespace skips it: no container process can see this one. */
  if (strcmp (cmd, "exec") == 0 || (strcmp (cmd, "run") == 0 && run_needs_protection (argc, argv)))
    if (fleetrt_selfexe_protect (argv - i, &err) < 0)
      return report (err);

  if (strcmp (cmd, "run") == 0)
    return cmd_run (argc, argv, false);
  if (strcmp (cmd, "create") == 0)
    return cmd_run (argc, argv, true);
  if (strcmp (cmd, "exec") == 0)
    return cmd_exec (argc, argv);
  if (strcmp (cmd, "list") == 0 || strcmp (cmd, "ps") == 0)
    return cmd_list (argc, argv);
  if (argc < 1)
    return usage ("missing container id");
  if (strcmp (cmd, "start") == 0)
    return fleetrt_container_start (root, argv[0], &err) < 0 ? report (err) : EXIT_OK;
  if (strcmp (cmd, "state") == 0)
    {
      int ret = fleetrt_container_state_json (root, argv[0], &json, &err);
      return print_json (ret, json, err);
    }
  if (strcmp (cmd, "stats") == 0)
    {
      int ret = fleetrt_container_stats_json (root, argv[0], &json, &err);
      return print_json (ret, json, err);
    }
  if (strcmp (cmd, "pause") == 0)
    return fleetrt_container_pause (root, argv[0], &err) < 0 ? report (err) : EXIT_OK;
  if (strcmp (cmd, "resume") == 0)
    return fleetrt_container_resume (root, argv[0], &err) < 0 ? report (err) : EXIT_OK;
  if (strcmp (cmd, "kill") == 0)
    {
      int sig = argc >= 2 ? fleetrt_signal_from_name (argv[1]) : SIGTERM;
      if (sig < 0)
        return usage ("unknown signal");
      return fleetrt_container_kill (root, argv[0], sig, &err) < 0 ? report (err) : EXIT_OK;
    }
  if (strcmp (cmd, "delete") == 0 || strcmp (cmd, "rm") == 0)
    {
      int force = 0;
      const char *id = NULL;
      for (int k = 0; k < argc; k++)
        if (strcmp (argv[k], "-f") == 0 || strcmp (argv[k], "--force") == 0)
          force = 1;
        else
          id = argv[k];
      if (id == NULL)
        return usage ("missing container id");
      return fleetrt_container_delete (root, id, force, &err) < 0 ? report (err) : EXIT_OK;
    }
  return usage ("unknown command");
}
