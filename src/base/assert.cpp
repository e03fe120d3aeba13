// Assertion failure: print and abort (core dump for the post-mortem).
#include "busyring/base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace busyring::base {

void assert_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "busyring: assertion failed: %s (%s:%d)\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace busyring::base
