/* The container's filesystem: propagation, rootfs (bind or overlay), configured mounts, /dev,
 * pivot_root, masked and read-only paths. Runs in the init, inside its new mount namespace. */
#ifndef FLEETRT_MOUNTS_H
#define FLEETRT_MOUNTS_H

#include "config.h"

/* Everything before pivot_root: propagation, rootfs, mounts, devices. cgroup_path is the
 * container's cgroup (for the v1 "cgroup" mount without a cgroup namespace). */
int fleetrt_mounts_prepare (const struct fleetrt_config *c, const char *cgroup_path,
                            fleetrt_error **err);

/* pivot_root into the prepared rootfs (never chroot); the old root is detached. */
int fleetrt_mounts_pivot (const struct fleetrt_config *c, fleetrt_error **err);

/* After sysctl: masked paths, read-only paths and a read-only root. */
int fleetrt_mounts_finish (const struct fleetrt_config *c, fleetrt_error **err);

/* Opens path (absolute, in the container) under rootfd without escaping it, creating missing
 * directories (and the last component as a file when `file`). O_PATH fd. */
int fleetrt_open_in_root (int rootfd, const char *path, bool create, bool file,
                          fleetrt_error **err);

/* "lowerdir=a:b,upperdir=u,workdir=w" for an overlay rootfs. */
char *fleetrt_overlay_options (const struct fleetrt_config *c);

#endif
