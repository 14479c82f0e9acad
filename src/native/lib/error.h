/* The one error convention of libfleetrt, after crun's libcrun_error_t:
 *   int do_thing(..., fleetrt_error **err);   returns >= 0 on success, < 0 on failure
 * On failure *err holds {errno, message}. fleetrt_error_wrap() prefixes context as the error
 * travels up ("create container `web-1`: mount proc: Permission denied"). */
#ifndef FLEETRT_ERROR_H
#define FLEETRT_ERROR_H

#include "fleetrt.h"

struct fleetrt_error
{
  int status;    /* errno, 0 when not a system call failure */
  char *message; /* owned; includes strerror(status) when status != 0 */
};

/* Sets *err and returns a negative value, so a caller writes `return fleetrt_fail (err, ...)`. */
int fleetrt_fail (fleetrt_error **err, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Like fleetrt_fail, but the message is complete as given: errno is set for the caller (EINVAL
 * for a bad config) without appending strerror to the text. */
int fleetrt_fail_msg (fleetrt_error **err, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prefixes "context: " to an existing error; returns the same negative value for chaining. */
int fleetrt_error_wrap (fleetrt_error **err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static inline void
fleetrt_error_cleanup (fleetrt_error **err)
{
  if (*err)
    fleetrt_error_free (*err);
}

#define cleanup_error __attribute__ ((cleanup (fleetrt_error_cleanup)))

#endif
