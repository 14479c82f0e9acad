/* Container networking over rtnetlink (no ip(8)): a veth pair whose host end joins a bridge and
 * whose other end becomes eth0 in the container's network namespace, with an address and a
 * default route. Asked for through config.json annotations (see fleetrt.h):
 *   org.fleet.net.bridge   bridge name on the host (created and brought up if missing)
 *   org.fleet.net.address  CIDR of the container's eth0, e.g. 10.88.0.5/16
 *   org.fleet.net.gateway  default gateway (optional)
 * The host end is deleted by the kernel with the namespace. */
#ifndef FLEETRT_NET_H
#define FLEETRT_NET_H

#include "config.h"

#include <sys/types.h>

struct fleetrt_net_config
{
  const char *bridge;
  const char *address; /* CIDR */
  const char *gateway; /* may be NULL */
};

/* Reads the annotations; returns 0 and fills n when networking is asked for, 1 when it is not,
 * < 0 when the annotations are malformed. */
int fleetrt_net_from_config (const struct fleetrt_config *c, struct fleetrt_net_config *n,
                             fleetrt_error **err);

/* Host side, from the runtime: bridge, veth pair, peer moved into pid's netns as eth0. */
int fleetrt_net_setup_host (const struct fleetrt_net_config *n, const char *id, pid_t pid,
                            fleetrt_error **err);

/* Container side, inside the netns: eth0 up, address, default route. */
int fleetrt_net_setup_container (const struct fleetrt_net_config *n, fleetrt_error **err);

#endif
