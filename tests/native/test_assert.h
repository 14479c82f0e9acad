/* A minimal assertion helper for the C unit tests: prints the failing expression with its
 * location and exits non-zero, which ctest reports as a failure. */
#ifndef FLEETRT_TEST_ASSERT_H
#define FLEETRT_TEST_ASSERT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                         \
  do                                                                                        \
    {                                                                                       \
      if (!(cond))                                                                          \
        {                                                                                   \
          fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
          exit (1);                                                                         \
        }                                                                                   \
    }                                                                                       \
  while (0)

#define CHECK_STR_EQ(actual, expected)                                                      \
  do                                                                                        \
    {                                                                                       \
      const char *a_ = (actual), *e_ = (expected);                                          \
      if (a_ == NULL || strcmp (a_, e_) != 0)                                               \
        {                                                                                   \
          fprintf (stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__, e_,  \
                   a_ ? a_ : "(null)");                                                     \
          exit (1);                                                                         \
        }                                                                                   \
    }                                                                                       \
  while (0)

#endif
