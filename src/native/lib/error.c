#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when even the message cannot be allocated: the caller still learns the errno. */
static char out_of_memory_message[] = "out of memory";

static char *
format_message (int status, const char *fmt, va_list ap)
{
  char *text = NULL;
  char *full = NULL;

  if (vasprintf (&text, fmt, ap) < 0)
    return NULL;
  if (status == 0)
    return text;
  if (asprintf (&full, "%s: %s", text, strerror (status)) < 0)
    full = NULL;
  free (text);
  return full;
}

int
fleetrt_fail (fleetrt_error **err, int status, const char *fmt, ...)
{
  va_list ap;
  fleetrt_error *e;

  if (err == NULL)
    return -1;
  e = calloc (1, sizeof (*e));
  if (e == NULL)
    return -1;
  va_start (ap, fmt);
  e->status = status;
  e->message = format_message (status, fmt, ap);
  va_end (ap);
  if (e->message == NULL)
    e->message = out_of_memory_message;
  *err = e;
  return -(status ? status : 1);
}

int
fleetrt_fail_msg (fleetrt_error **err, int status, const char *fmt, ...)
{
  va_list ap;
  fleetrt_error *e;

  if (err == NULL)
    return -1;
  e = calloc (1, sizeof (*e));
  if (e == NULL)
    return -1;
  va_start (ap, fmt);
  e->status = status;
  e->message = format_message (0, fmt, ap);
  va_end (ap);
  if (e->message == NULL)
    e->message = out_of_memory_message;
  *err = e;
  return -(status ? status : 1);
}

int
fleetrt_error_wrap (fleetrt_error **err, const char *fmt, ...)
{
  va_list ap;
  char *context = NULL;
  char *joined = NULL;
  fleetrt_error *e;

  if (err == NULL || *err == NULL)
    return -1;
  e = *err;
  va_start (ap, fmt);
  if (vasprintf (&context, fmt, ap) < 0)
    context = NULL;
  va_end (ap);
  if (context != NULL && asprintf (&joined, "%s: %s", context, e->message) >= 0)
    {
      if (e->message != out_of_memory_message)
        free (e->message);
      e->message = joined;
    }
  free (context);
  return -(e->status ? e->status : 1);
}

FLEETRT_API int
fleetrt_error_errno (const fleetrt_error *err)
{
  return err ? err->status : 0;
}

FLEETRT_API const char *
fleetrt_error_message (const fleetrt_error *err)
{
  return err ? err->message : "";
}

FLEETRT_API void
fleetrt_error_free (fleetrt_error *err)
{
  if (err == NULL)
    return;
  if (err->message != out_of_memory_message)
    free (err->message);
  free (err);
}
