/* The error convention: fail sets errno + message, wrap adds context outermost first. */
#include "error.h"
#include "test_assert.h"

#include <errno.h>

static int
open_config (fleetrt_error **err)
{
  return fleetrt_fail (err, ENOENT, "open `%s`", "config.json");
}

int
main (void)
{
  fleetrt_error *err = NULL;
  int ret = open_config (&err);

  CHECK (ret < 0);
  CHECK (fleetrt_error_errno (err) == ENOENT);
  CHECK_STR_EQ (fleetrt_error_message (err), "open `config.json`: No such file or directory");

  ret = fleetrt_error_wrap (&err, "load bundle `%s`", "/b");
  CHECK (ret == -ENOENT);
  CHECK_STR_EQ (fleetrt_error_message (err),
                "load bundle `/b`: open `config.json`: No such file or directory");
  fleetrt_error_free (err);

  err = NULL;
  CHECK (fleetrt_fail (&err, 0, "field `%s` must be a string", "ociVersion") == -1);
  CHECK (fleetrt_error_errno (err) == 0);
  CHECK_STR_EQ (fleetrt_error_message (err), "field `ociVersion` must be a string");
  fleetrt_error_free (err);

  CHECK_STR_EQ (fleetrt_version (), "0.1.0");
  return 0;
}
