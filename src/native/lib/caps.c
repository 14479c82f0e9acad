#include "caps.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

int
fleetrt_caps_last_cap (void)
{
  static int last = -1;
  char buf[16] = { 0 };
  if (last >= 0)
    return last;
  {
    cleanup_close int fd = open ("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && read (fd, buf, sizeof buf - 1) > 0)
      last = atoi (buf);
  }
  if (last <= 0)
    last = CAP_LAST_CAP;
  return last;
}

int
fleetrt_caps_drop_bounding (const struct fleetrt_process *p, fleetrt_error **err)
{
  int last = fleetrt_caps_last_cap ();
  if (!p->has_caps)
    return 0;
  for (int cap = 0; cap <= last; cap++)
    {
      if (p->caps[CAPSET_BOUNDING] & (1ULL << cap))
        continue;
      if (prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
        return fleetrt_fail (err, errno, "drop capability %d from the bounding set", cap);
    }
  return 0;
}

int
fleetrt_caps_set_user (const struct fleetrt_process *p, fleetrt_error **err)
{
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2] = { { 0 } };

  if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return fleetrt_fail (err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (setgroups (p->n_additional_gids, p->additional_gids) < 0)
    return fleetrt_fail (err, errno, "setgroups (process.user.additionalGids)");
  if (setresgid (p->gid, p->gid, p->gid) < 0)
    return fleetrt_fail (err, errno, "setresgid(%u) (process.user.gid)", p->gid);
  if (setresuid (p->uid, p->uid, p->uid) < 0)
    return fleetrt_fail (err, errno, "setresuid(%u) (process.user.uid)", p->uid);
  if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return fleetrt_fail (err, errno, "prctl(PR_SET_KEEPCAPS)");
  if (!p->has_caps)
    return 0;
  for (int i = 0; i < 2; i++)
    {
      data[i].effective = (uint32_t) (p->caps[CAPSET_EFFECTIVE] >> (32 * i));
      data[i].permitted = (uint32_t) (p->caps[CAPSET_PERMITTED] >> (32 * i));
      data[i].inheritable = (uint32_t) (p->caps[CAPSET_INHERITABLE] >> (32 * i));
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    return fleetrt_fail (err, errno, "capset (process.capabilities)");
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return fleetrt_fail (err, errno, "clear ambient capabilities");
  /* The kernel only allows ambient capabilities that are permitted and inheritable; like runc,
   * skip the others (runc spec's default lists ambient caps without inheritable ones). */
  for (int cap = 0; cap <= fleetrt_caps_last_cap (); cap++)
    if (p->caps[CAPSET_AMBIENT] & p->caps[CAPSET_PERMITTED] & p->caps[CAPSET_INHERITABLE]
        & (1ULL << cap))
      if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        return fleetrt_fail (err, errno,
                             "raise ambient capability %d (it must be permitted and inheritable)",
                             cap);
  return 0;
}
