#include "fleetrt.h"

#ifndef FLEETRT_VERSION
#  define FLEETRT_VERSION "0.1.0"
#endif

FLEETRT_API const char *
fleetrt_version (void)
{
  return FLEETRT_VERSION;
}
