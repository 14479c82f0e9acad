/* reaper CMD [ARG...] — runs a black-box test as its child subreaper: every process the test
 * leaves behind (an orphaned shim, a container init) is re-parented here. After CMD exits the
 * reaper waits up to 5 s for them; anything still alive then is a leak: it is listed, killed,
 * and the test fails. On this machine PID 1 does not reap orphans, so without a subreaper
 * every exited shim would stay a zombie. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void
list_children (void)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/task/%d/children", getpid (), getpid ());
  FILE *f = fopen (path, "r");
  int pid;
  while (f && fscanf (f, "%d", &pid) == 1)
    {
      char cmd[256] = { 0 }, p[64];
      FILE *c;
      snprintf (p, sizeof p, "/proc/%d/cmdline", pid);
      c = fopen (p, "r");
      if (c)
        {
          size_t n = fread (cmd, 1, sizeof cmd - 1, c);
          for (size_t i = 0; i < n; i++)
            if (cmd[i] == '\0')
              cmd[i] = ' ';
          fclose (c);
        }
      fprintf (stderr, "reaper: leaked process %d: %s\n", pid, cmd);
      kill (pid, SIGKILL);
    }
  if (f)
    fclose (f);
}

int
main (int argc, char **argv)
{
  pid_t child;
  int status = 0, code = 1;
  time_t deadline = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: reaper CMD [ARG...]\n");
      return 2;
    }
  if (getuid () != 0)
    {
      fprintf (stderr, "reaper: black-box tests need root (namespaces, mounts, cgroups)\n");
      return 1;
    }
  prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  child = fork ();
  if (child == 0)
    {
      execvp (argv[1], argv + 1);
      perror ("exec");
      _exit (127);
    }
  for (;;)
    {
      int st;
      pid_t p = waitpid (-1, &st, deadline ? WNOHANG : 0);
      if (p == child)
        {
          code = WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
          status = st;
          deadline = time (NULL) + 5;
          continue;
        }
      if (p < 0 && errno == ECHILD)
        break;
      if (p == 0)
        {
          if (time (NULL) >= deadline)
            {
              list_children ();
              while (wait (NULL) > 0)
                ;
              return code ? code : 1;
            }
          nanosleep (&(struct timespec){ 0, 20000000 }, NULL);
        }
    }
  (void) status;
  return code;
}
