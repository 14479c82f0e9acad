/* /dev inside the container: the default devices, the configured ones and the symlinks. */
#ifndef FLEETRT_DEVICES_H
#define FLEETRT_DEVICES_H

#include "config.h"

/* devfd is the container's /dev (a fresh tmpfs). Creates null, zero, full, random, urandom,
 * tty, the linux.devices entries and fd, stdin, stdout, stderr, ptmx, core symlinks. */
int fleetrt_devices_populate (int devfd, const struct fleetrt_config *c, fleetrt_error **err);

#endif
