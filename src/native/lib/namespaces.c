#include "namespaces.h"
#include "utils.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

static const struct
{
  int type;
  const char *name;
} ns_order[] = {
  /* Order of joining: mount last, since it changes what the other paths resolve to. */
  { CLONE_NEWCGROUP, "cgroup" }, { CLONE_NEWIPC, "ipc" }, { CLONE_NEWUTS, "uts" },
  { CLONE_NEWNET, "net" },       { CLONE_NEWPID, "pid" }, { CLONE_NEWNS, "mnt" },
};

const char *
fleetrt_ns_proc_name (int type)
{
  for (size_t i = 0; i < sizeof ns_order / sizeof ns_order[0]; i++)
    if (ns_order[i].type == type)
      return ns_order[i].name;
  return "?";
}

int
fleetrt_ns_clone_flags (const struct fleetrt_config *c)
{
  int flags = 0;
  for (size_t i = 0; i < c->n_namespaces; i++)
    if (c->namespaces[i].path == NULL)
      flags |= c->namespaces[i].type;
  return flags;
}

int
fleetrt_ns_join_paths (const struct fleetrt_config *c, int types, fleetrt_error **err)
{
  for (size_t k = 0; k < sizeof ns_order / sizeof ns_order[0]; k++)
    {
      const struct fleetrt_namespace *ns = fleetrt_config_namespace (c, ns_order[k].type);
      cleanup_close int fd = -1;
      if (ns == NULL || ns->path == NULL || !(types & ns->type))
        continue;
      fd = open (ns->path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return fleetrt_fail (err, errno, "linux.namespaces: open %s namespace `%s`",
                             ns_order[k].name, ns->path);
      if (setns (fd, ns->type) < 0)
        return fleetrt_fail (err, errno, "linux.namespaces: join %s namespace `%s`",
                             ns_order[k].name, ns->path);
    }
  return 0;
}

int
fleetrt_ns_join_pid (pid_t pid, int types, fleetrt_error **err)
{
  int fds[sizeof ns_order / sizeof ns_order[0]];
  int ret = 0;
  size_t n = sizeof ns_order / sizeof ns_order[0];

  /* Open all first: once in the container's mount namespace its /proc is no longer ours. */
  for (size_t k = 0; k < n; k++)
    {
      char path[64], self[64];
      struct stat a, b;
      fds[k] = -1;
      if (!(types & ns_order[k].type))
        continue;
      snprintf (path, sizeof path, "/proc/%d/ns/%s", pid, ns_order[k].name);
      snprintf (self, sizeof self, "/proc/self/ns/%s", ns_order[k].name);
      if (stat (path, &a) == 0 && stat (self, &b) == 0 && a.st_ino == b.st_ino
          && a.st_dev == b.st_dev)
        continue;
      fds[k] = open (path, O_RDONLY | O_CLOEXEC);
      if (fds[k] < 0)
        {
          ret = fleetrt_fail (err, errno, "open `%s`", path);
          goto out;
        }
    }
  for (size_t k = 0; k < n; k++)
    if (fds[k] >= 0 && setns (fds[k], ns_order[k].type) < 0)
      {
        ret = fleetrt_fail (err, errno, "join the container's %s namespace", ns_order[k].name);
        goto out;
      }
out:
  for (size_t k = 0; k < n; k++)
    if (fds[k] >= 0)
      close (fds[k]);
  return ret;
}

int
fleetrt_ns_loopback_up (fleetrt_error **err)
{
  cleanup_close int s = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  if (s < 0)
    return fleetrt_fail (err, errno, "socket");
  memset (&ifr, 0, sizeof ifr);
  strcpy (ifr.ifr_name, "lo");
  if (ioctl (s, SIOCGIFFLAGS, &ifr) < 0)
    return fleetrt_fail (err, errno, "get flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl (s, SIOCSIFFLAGS, &ifr) < 0)
    return fleetrt_fail (err, errno, "bring lo up");
  return 0;
}
