/* The exported API without containers: the calls the .NET agent makes on an empty or missing
 * state root, and their errors. */
#include "fleetrt.h"
#include "test_assert.h"
#include "utils.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>

int
main (void)
{
  char dir[] = "/tmp/fleetrt-apitest-XXXXXX";
  fleetrt_error *err = NULL;
  char *json = NULL;
  cleanup_free char *missing = NULL;

  CHECK (mkdtemp (dir) != NULL);
  missing = xasprintf ("%s/none", dir);

  CHECK (fleetrt_container_list_json (dir, &json, &err) == 0);
  CHECK_STR_EQ (json, "[]");
  fleetrt_free (json);
  CHECK (fleetrt_container_list_json (missing, &json, &err) == 0);
  CHECK_STR_EQ (json, "[]");
  fleetrt_free (json);

  CHECK (fleetrt_container_state_json (dir, "web-1", &json, &err) < 0);
  CHECK (fleetrt_error_errno (err) == ENOENT);
  CHECK_STR_EQ (fleetrt_error_message (err), "container `web-1` does not exist");
  fleetrt_error_free (err);
  err = NULL;

  CHECK (fleetrt_container_kill (dir, "web-1", SIGTERM, &err) < 0);
  CHECK (fleetrt_error_errno (err) == ENOENT);
  fleetrt_error_free (err);
  err = NULL;

  CHECK (fleetrt_container_start (dir, "../../etc", &err) < 0);
  CHECK (fleetrt_error_errno (err) == EINVAL);
  fleetrt_error_free (err);
  err = NULL;

  CHECK (fleetrt_container_delete (dir, "web-1", 1, &err) < 0);
  CHECK (fleetrt_error_errno (err) == ENOENT);
  fleetrt_error_free (err);
  err = NULL;

  CHECK (fleetrt_container_pause (dir, "web-1", &err) < 0);
  fleetrt_error_free (err);
  err = NULL;
  CHECK (fleetrt_container_stats_json (dir, "web-1", &json, &err) < 0);
  fleetrt_error_free (err);
  err = NULL;

  /* a missing bundle names the bundle path */
  CHECK (fleetrt_container_create (dir, "c1", missing, &err) < 0);
  CHECK (fleetrt_error_errno (err) == ENOENT);
  CHECK (strstr (fleetrt_error_message (err), missing) != NULL);
  fleetrt_error_free (err);
  err = NULL;
  {
    cleanup_free char *cdir = xasprintf ("%s/c1", dir);
    struct stat st;
    CHECK (stat (cdir, &st) < 0);
  }
  fleetrt_error_free (NULL);
  fleetrt_free (NULL);
  CHECK (rm_rf (dir, &err) == 0);
  return 0;
}
