/* Small helpers shared by every concern: cleanup attributes, file I/O, paths and numbers. */
#ifndef FLEETRT_UTILS_H
#define FLEETRT_UTILS_H

#include "error.h"

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static inline void
cleanup_freep (void *p)
{
  free (*(void **) p);
}

static inline void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

static inline void
cleanup_dirp (DIR **d)
{
  if (*d)
    closedir (*d);
}

void cleanup_strvp (char ***v);

#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_dir __attribute__ ((cleanup (cleanup_dirp)))
#define cleanup_strv __attribute__ ((cleanup (cleanup_strvp)))

/* Hands an fd out of a cleanup_close variable. */
static inline int
steal_fd (int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

static inline void *
steal_ptr (void *pp)
{
  void **p = pp;
  void *r = *p;
  *p = NULL;
  return r;
}

/* Allocation failures abort, as in crun: there is no sensible recovery from them. */
void *xmalloc0 (size_t size);
void *xrealloc (void *p, size_t size);
char *xstrdup (const char *s);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Reads a whole file (NUL terminated). */
int read_file (const char *path, char **out, size_t *len, fleetrt_error **err);
int read_file_at (int dirfd, const char *path, char **out, size_t *len, fleetrt_error **err);
/* Writes data to an existing or new file, truncating it. */
int write_file (const char *path, const char *data, size_t len, fleetrt_error **err);
int write_file_at (int dirfd, const char *path, const char *data, size_t len, fleetrt_error **err);
/* Writes to path.tmp and renames over path, so readers see old or new, never half. */
int write_file_atomic (const char *path, const char *data, size_t len, fleetrt_error **err);

int mkdir_p (const char *path, mode_t mode, fleetrt_error **err);
/* Removes a directory tree (no mount crossing); missing is fine. */
int rm_rf (const char *path, fleetrt_error **err);

/* Parses a decimal unsigned integer with nothing after it but whitespace. */
int parse_u64 (const char *s, uint64_t *out);

/* Current wall clock as RFC 3339 with nanoseconds, UTC (buf >= 40 bytes). */
void format_rfc3339_now (char *buf, size_t size);

/* Field 22 of /proc/PID/stat (start time in clock ticks) and state letter; used to tell a live
 * container init from a recycled pid. Returns < 0 if the process does not exist. */
int proc_stat_start (pid_t pid, uint64_t *start, char *state_letter);

/* A container id is [A-Za-z0-9][A-Za-z0-9_.-]{0,127}: it becomes a path component. */
int validate_id (const char *id, fleetrt_error **err);

/* Closes every fd >= 3 except those in keep (n entries, -1 entries ignored). */
void close_fds_except (const int *keep, size_t n);

/* Closes every fd >= from (or marks CLOEXEC when cloexec is true). */
void close_fds_from (int from, bool cloexec);

#endif
