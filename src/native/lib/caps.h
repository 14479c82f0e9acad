/* Capabilities and credentials of the container process, applied in the init just before exec. */
#ifndef FLEETRT_CAPS_H
#define FLEETRT_CAPS_H

#include "config.h"

/* Drops the bounding set to the configured one (needs CAP_SETPCAP, so before the user switch). */
int fleetrt_caps_drop_bounding (const struct fleetrt_process *p, fleetrt_error **err);

/* Switches to uid/gid/additionalGids keeping capabilities, then sets effective, permitted,
 * inheritable and ambient exactly as configured. */
int fleetrt_caps_set_user (const struct fleetrt_process *p, fleetrt_error **err);

/* The highest capability number the kernel knows. */
int fleetrt_caps_last_cap (void);

#endif
