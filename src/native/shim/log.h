/* The container's log: one JSON object per line, {"time":RFC3339Nano,"stream":S,"log":TEXT},
 * written to FILE and rotated to FILE.1 .. FILE.(K-1) when it would grow past max_bytes. */
#ifndef FLEET_SHIM_LOG_H
#define FLEET_SHIM_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shim_log
{
  char *path;
  int fd;
  uint64_t size;
  uint64_t max_bytes; /* 0 = never rotate */
  unsigned files;     /* files kept including the current one, >= 1 */
};

int shim_log_open (struct shim_log *l, const char *path, uint64_t max_bytes, unsigned files);
/* Appends one entry; text is one line (its newline included, if it had one). Returns the
 * formatted entry length (for followers) or -1; *entry receives the formatted line. */
int shim_log_write (struct shim_log *l, const char *stream, const char *text, size_t len,
                    char **entry);
void shim_log_close (struct shim_log *l);

#endif
