#include "cgroup.h"
#include "utils.h"

#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

const char *
fleetrt_cgroup_mount (void)
{
  const char *m = getenv ("FLEETRT_CGROUP_MOUNT");
  return m && *m ? m : "/sys/fs/cgroup";
}

const struct fleetrt_cgroup_backend *
fleetrt_cgroup_detect (void)
{
  struct statfs sfs;
  const char *forced = getenv ("FLEETRT_CGROUP_BACKEND");
  if (forced && strcmp (forced, "v1") == 0)
    return &fleetrt_cgroup_v1;
  if (forced && strcmp (forced, "v2") == 0)
    return &fleetrt_cgroup_v2;
  if (statfs (fleetrt_cgroup_mount (), &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
    return &fleetrt_cgroup_v2;
  return &fleetrt_cgroup_v1;
}

uint64_t
fleetrt_cgroup_shares_to_weight (uint64_t shares)
{
  if (shares == 0)
    return 0;
  if (shares < 2)
    shares = 2;
  if (shares > 262144)
    shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

int
fleetrt_cgroup_read_keyed (const char *text, const char *key, uint64_t *out)
{
  size_t klen = strlen (key);
  for (const char *p = text; p && *p;)
    {
      if (strncmp (p, key, klen) == 0 && p[klen] == ' ')
        {
          *out = strtoull (p + klen + 1, NULL, 10);
          return 0;
        }
      p = strchr (p, '\n');
      if (p)
        p++;
    }
  return -1;
}
