/* fleet-shim — the per-container parent process. It arrives with the runtime core; for now it
 * answers --version so the build wiring can be checked end to end. */
#include "fleetrt.h"

#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "--version") == 0)
    {
      printf ("fleet-shim version %s\n", fleetrt_version ());
      return 0;
    }
  fprintf (stderr, "usage: fleet-shim --version\n");
  return 2;
}
