#include "status.h"
#include "cgroup.h"
#include "utils.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

const char *
fleetrt_state_root (const char *root)
{
  return root && *root ? root : FLEETRT_DEFAULT_ROOT;
}

char *
fleetrt_state_dir (const char *root, const char *id)
{
  return xasprintf ("%s/%s", fleetrt_state_root (root), id);
}

static void
add_str (json_object *o, const char *k, const char *v)
{
  if (v)
    json_object_object_add (o, k, json_object_new_string (v));
}

int
fleetrt_state_write (const char *root, const struct fleetrt_state *s, fleetrt_error **err)
{
  cleanup_free char *dir = fleetrt_state_dir (root, s->id);
  cleanup_free char *path = xasprintf ("%s/state.json", dir);
  json_object *o = json_object_new_object ();
  const char *text;
  int ret;

  add_str (o, "id", s->id);
  add_str (o, "bundle", s->bundle);
  add_str (o, "created", s->created);
  add_str (o, "started", s->started);
  add_str (o, "cgroup_path", s->cgroup_path);
  json_object_object_add (o, "pid", json_object_new_int (s->pid));
  json_object_object_add (o, "pid_start", json_object_new_uint64 (s->pid_start));
  json_object_object_add (o, "parent_pid", json_object_new_int (s->parent_pid));
  json_object_object_add (o, "annotations", s->annotations ? json_object_get (s->annotations)
                                                           : json_object_new_object ());
  text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  ret = write_file_atomic (path, text, strlen (text), err);
  json_object_put (o);
  return ret;
}

static const char *
jstr (json_object *o, const char *k)
{
  json_object *v;
  if (!json_object_object_get_ex (o, k, &v) || !json_object_is_type (v, json_type_string))
    return NULL;
  return json_object_get_string (v);
}

static int64_t
jint (json_object *o, const char *k)
{
  json_object *v;
  if (!json_object_object_get_ex (o, k, &v))
    return 0;
  return json_object_get_int64 (v);
}

int
fleetrt_state_read (const char *root, const char *id, struct fleetrt_state **out,
                    fleetrt_error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *exit_text = NULL;
  cleanup_free char *exit_path = NULL;
  struct fleetrt_state *s;
  json_object *o, *ann;
  int ret;

  if ((ret = validate_id (id, err)) < 0)
    return ret;
  dir = fleetrt_state_dir (root, id);
  path = xasprintf ("%s/state.json", dir);
  ret = read_file (path, &text, NULL, err);
  if (ret < 0)
    {
      if (fleetrt_error_errno (*err) == ENOENT)
        {
          fleetrt_error_free (*err);
          *err = NULL;
          return fleetrt_fail_msg (err, ENOENT, "container `%s` does not exist", id);
        }
      return ret;
    }
  o = json_tokener_parse (text);
  if (o == NULL)
    return fleetrt_fail_msg (err, EINVAL, "container `%s`: corrupt `%s`", id, path);
  s = xmalloc0 (sizeof *s);
  s->id = xstrdup (id);
  s->bundle = xstrdup (jstr (o, "bundle"));
  s->created = xstrdup (jstr (o, "created"));
  s->started = xstrdup (jstr (o, "started"));
  s->cgroup_path = xstrdup (jstr (o, "cgroup_path"));
  s->pid = (pid_t) jint (o, "pid");
  s->pid_start = (uint64_t) jint (o, "pid_start");
  s->parent_pid = (pid_t) jint (o, "parent_pid");
  if (json_object_object_get_ex (o, "annotations", &ann))
    s->annotations = json_object_get (ann);
  json_object_put (o);

  exit_path = xasprintf ("%s/exit.json", dir);
  {
    fleetrt_error *ignored = NULL;
    if (read_file (exit_path, &exit_text, NULL, &ignored) == 0)
      {
        json_object *e = json_tokener_parse (exit_text);
        json_object *v;
        if (e)
          {
            s->exited = true;
            s->exit_code = (int) jint (e, "exit_code");
            s->exit_signal = (int) jint (e, "signal");
            s->oom_killed = json_object_object_get_ex (e, "oom_killed", &v)
                            && json_object_get_boolean (v);
            s->finished = xstrdup (jstr (e, "finished"));
            json_object_put (e);
          }
      }
    else
      fleetrt_error_free (ignored);
  }
  *out = s;
  return 0;
}

int
fleetrt_state_write_exit (const char *root, const char *id, int wait_status, bool oom_killed,
                          fleetrt_error **err)
{
  cleanup_free char *dir = fleetrt_state_dir (root, id);
  cleanup_free char *path = xasprintf ("%s/exit.json", dir);
  json_object *o = json_object_new_object ();
  char now[64];
  int code = 0, sig = 0, ret;
  const char *text;

  if (WIFEXITED (wait_status))
    code = WEXITSTATUS (wait_status);
  else if (WIFSIGNALED (wait_status))
    {
      sig = WTERMSIG (wait_status);
      code = 128 + sig;
    }
  format_rfc3339_now (now, sizeof now);
  json_object_object_add (o, "exit_code", json_object_new_int (code));
  json_object_object_add (o, "signal", json_object_new_int (sig));
  json_object_object_add (o, "oom_killed", json_object_new_boolean (oom_killed));
  json_object_object_add (o, "finished", json_object_new_string (now));
  text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  ret = write_file_atomic (path, text, strlen (text), err);
  json_object_put (o);
  return ret;
}

void
fleetrt_state_free (struct fleetrt_state *s)
{
  if (s == NULL)
    return;
  free (s->id);
  free (s->bundle);
  free (s->created);
  free (s->started);
  free (s->cgroup_path);
  free (s->finished);
  if (s->annotations)
    json_object_put (s->annotations);
  free (s);
}

bool
fleetrt_state_init_alive (const struct fleetrt_state *s)
{
  uint64_t start;
  char letter = 0;
  if (s->exited || s->pid <= 0)
    return false;
  if (proc_stat_start (s->pid, &start, &letter) < 0)
    return false;
  return start == s->pid_start && letter != 'Z' && letter != 'X';
}

enum fleetrt_status
fleetrt_state_status (const char *root, const struct fleetrt_state *s)
{
  cleanup_free char *fifo = NULL;
  bool frozen = false;
  fleetrt_error *ignored = NULL;

  if (!fleetrt_state_init_alive (s))
    return FLEETRT_STOPPED;
  fifo = xasprintf ("%s/%s/exec.fifo", fleetrt_state_root (root), s->id);
  if (access (fifo, F_OK) == 0)
    return FLEETRT_CREATED;
  if (s->cgroup_path
      && fleetrt_cgroup_detect ()->is_frozen (fleetrt_cgroup_mount (), s->cgroup_path, &frozen,
                                              &ignored)
             < 0)
    fleetrt_error_free (ignored);
  return frozen ? FLEETRT_PAUSED : FLEETRT_RUNNING;
}

const char *
fleetrt_status_name (enum fleetrt_status st)
{
  switch (st)
    {
    case FLEETRT_CREATED:
      return "created";
    case FLEETRT_RUNNING:
      return "running";
    case FLEETRT_PAUSED:
      return "paused";
    default:
      return "stopped";
    }
}

json_object *
fleetrt_state_to_json (const char *root, const struct fleetrt_state *s)
{
  enum fleetrt_status st = fleetrt_state_status (root, s);
  json_object *o = json_object_new_object ();
  json_object_object_add (o, "ociVersion", json_object_new_string ("1.0.2"));
  add_str (o, "id", s->id);
  json_object_object_add (o, "status", json_object_new_string (fleetrt_status_name (st)));
  json_object_object_add (o, "pid", json_object_new_int (st == FLEETRT_STOPPED ? 0 : s->pid));
  add_str (o, "bundle", s->bundle);
  json_object_object_add (o, "annotations", s->annotations ? json_object_get (s->annotations)
                                                           : json_object_new_object ());
  add_str (o, "created", s->created);
  add_str (o, "started", s->started);
  json_object_object_add (o, "shim_pid", json_object_new_int (s->parent_pid));
  if (s->exited)
    {
      json_object_object_add (o, "exit_code", json_object_new_int (s->exit_code));
      json_object_object_add (o, "exit_signal", json_object_new_int (s->exit_signal));
      json_object_object_add (o, "oom_killed", json_object_new_boolean (s->oom_killed));
      add_str (o, "finished", s->finished);
    }
  return o;
}
