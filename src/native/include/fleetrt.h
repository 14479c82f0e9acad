/* libfleetrt — Fleet's native container runtime core. Public API.
 *
 * Error convention (see lib/error.h): a function that can fail takes `fleetrt_error **err` as
 * its last argument, returns a negative int on failure and sets *err to an error carrying the
 * errno and a message; callers release it with fleetrt_error_free(). Nothing in the library
 * prints or exits: it runs inside the .NET agent. */
#ifndef FLEETRT_H
#define FLEETRT_H

#ifdef __cplusplus
extern "C" {
#endif

#define FLEETRT_API __attribute__((visibility("default")))

typedef struct fleetrt_error fleetrt_error;

/* The library's version, "MAJOR.MINOR.PATCH". Static storage; never freed. */
FLEETRT_API const char *fleetrt_version(void);

/* errno of the failure (0 when the cause was not a system call). */
FLEETRT_API int fleetrt_error_errno(const fleetrt_error *err);

/* The message with every context added by wrapping, outermost first. */
FLEETRT_API const char *fleetrt_error_message(const fleetrt_error *err);

FLEETRT_API void fleetrt_error_free(fleetrt_error *err);

#ifdef __cplusplus
}
#endif
#endif
