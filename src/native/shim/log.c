#include "log.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int
shim_log_open (struct shim_log *l, const char *path, uint64_t max_bytes, unsigned files)
{
  struct stat st;
  l->path = xstrdup (path);
  l->max_bytes = max_bytes;
  l->files = files ? files : 1;
  l->fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (l->fd < 0)
    return -1;
  l->size = fstat (l->fd, &st) == 0 ? (uint64_t) st.st_size : 0;
  return 0;
}

static void
rotate (struct shim_log *l)
{
  close (l->fd);
  if (l->files <= 1)
    l->fd = open (l->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
  else
    {
      for (unsigned i = l->files - 1; i >= 1; i--)
        {
          cleanup_free char *from = i == 1 ? xstrdup (l->path) : xasprintf ("%s.%u", l->path, i - 1);
          cleanup_free char *to = xasprintf ("%s.%u", l->path, i);
          rename (from, to);
        }
      l->fd = open (l->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    }
  l->size = 0;
}

int
shim_log_write (struct shim_log *l, const char *stream, const char *text, size_t len,
                char **entry)
{
  char now[64];
  json_object *s = json_object_new_string_len (text, (int) len);
  const char *escaped = json_object_to_json_string_ext (s, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *line;
  int n;

  format_rfc3339_now (now, sizeof now);
  n = asprintf (&line, "{\"time\":\"%s\",\"stream\":\"%s\",\"log\":%s}\n", now, stream, escaped);
  json_object_put (s);
  if (n < 0)
    return -1;
  if (l->fd >= 0)
    {
      if (l->max_bytes && l->size > 0 && l->size + n > l->max_bytes)
        rotate (l);
      if (l->fd >= 0 && write (l->fd, line, n) == n)
        l->size += n;
    }
  *entry = line;
  return n;
}

void
shim_log_close (struct shim_log *l)
{
  if (l->fd >= 0)
    close (l->fd);
  l->fd = -1;
  free (l->path);
  l->path = NULL;
}
