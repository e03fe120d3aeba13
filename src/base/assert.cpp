// Assertion failure: print and abort (core dump for the post-mortem). The line names the
// program (busyring, busyring-log, busyring-load), since the tools share these assertions.
#include "busyring/base/assert.h"

#include <errno.h>  // program_invocation_short_name (GNU)

#include <cstdio>
#include <cstdlib>

namespace busyring::base {

void assert_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "%s: assertion failed: %s (%s:%d)\n", program_invocation_short_name, expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace busyring::base
