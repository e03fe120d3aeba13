// Always-on assertion for the load generator (the server's BR_ASSERT lives in include/, which
// this tool must not depend on). A failed check is a programmer error: print where, abort.
#pragma once

#include <cstdio>
#include <cstdlib>

#define BR_LOAD_CHECK(cond)                                                              \
  do {                                                                                   \
    if (!(cond)) [[unlikely]] {                                                          \
      std::fprintf(stderr, "busyring-load: check failed: %s (%s:%d)\n", #cond, __FILE__, \
                   __LINE__);                                                            \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
