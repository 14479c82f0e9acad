/* Helpers: ids, numbers, signals, mount options, capability names, fd closing, cgroup
 * conversions. */
#include "cgroup.h"
#include "config.h"
#include "container.h"
#include "test_assert.h"
#include "utils.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>

int
main (void)
{
  fleetrt_error *err = NULL;
  uint64_t v = 0;
  unsigned long set = 0, clear = 0, prop = 0;
  bool bind = false;

  CHECK (validate_id ("web-1.a_b", &err) == 0);
  CHECK (validate_id ("../etc", &err) < 0);
  CHECK_STR_EQ (fleetrt_error_message (err),
                "invalid container id `../etc`: use letters, digits, `_.-`");
  fleetrt_error_free (err);
  err = NULL;
  CHECK (validate_id ("", &err) < 0);
  fleetrt_error_free (err);
  err = NULL;
  CHECK (validate_id ("-x", &err) < 0);
  fleetrt_error_free (err);
  err = NULL;

  CHECK (parse_u64 ("123\n", &v) == 0 && v == 123);
  CHECK (parse_u64 ("12x", &v) < 0);
  CHECK (parse_u64 ("-1", &v) < 0);

  CHECK (fleetrt_signal_from_name ("KILL") == SIGKILL);
  CHECK (fleetrt_signal_from_name ("SIGTERM") == SIGTERM);
  CHECK (fleetrt_signal_from_name ("15") == 15);
  CHECK (fleetrt_signal_from_name ("NOPE") == -1);
  CHECK (fleetrt_signal_from_name ("99") == -1);

  CHECK (fleetrt_cap_from_name ("CAP_SYS_ADMIN") == 21);
  CHECK (fleetrt_cap_from_name ("CAP_CHECKPOINT_RESTORE") == 40);
  CHECK (fleetrt_cap_from_name ("CAP_FOO") == -1);

  CHECK (fleetrt_mount_option ("ro", &set, &clear, &prop, &bind) && (set & MS_RDONLY));
  CHECK (fleetrt_mount_option ("rw", &set, &clear, &prop, &bind) && !(set & MS_RDONLY));
  CHECK (fleetrt_mount_option ("rslave", &set, &clear, &prop, &bind)
         && prop == (MS_SLAVE | MS_REC));
  CHECK (fleetrt_mount_option ("rbind", &set, &clear, &prop, &bind) && bind
         && (set & MS_REC));
  CHECK (!fleetrt_mount_option ("size=1m", &set, &clear, &prop, &bind));

  CHECK (fleetrt_cgroup_shares_to_weight (2) == 1);
  CHECK (fleetrt_cgroup_shares_to_weight (1024) == 39);
  CHECK (fleetrt_cgroup_shares_to_weight (262144) == 10000);
  CHECK (fleetrt_cgroup_read_keyed ("oom 0\noom_kill 3\n", "oom_kill", &v) == 0 && v == 3);
  CHECK (fleetrt_cgroup_read_keyed ("oom 0\n", "oom_kill", &v) < 0);

  /* close_fds_except keeps exactly the listed fds */
  {
    int a = open ("/dev/null", O_RDONLY), b = open ("/dev/null", O_RDONLY),
        c = open ("/dev/null", O_RDONLY);
    int keep[2] = { b, -1 };
    close_fds_except (keep, 2);
    CHECK (fcntl (a, F_GETFD) < 0);
    CHECK (fcntl (b, F_GETFD) >= 0);
    CHECK (fcntl (c, F_GETFD) < 0);
    close (b);
  }
  {
    char buf[64];
    format_rfc3339_now (buf, sizeof buf);
    CHECK (strlen (buf) == 30 && buf[10] == 'T' && buf[29] == 'Z');
  }
  return 0;
}
