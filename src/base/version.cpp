// Version, commit and build mode. BR_GIT_COMMIT and BR_BUILD_MODE come from the Makefile
// (`git rev-parse --short HEAD`, MODE); a build without them says "unknown".
#include "busyring/base/version.h"

#ifndef BR_GIT_COMMIT
#define BR_GIT_COMMIT "unknown"
#endif
#ifndef BR_BUILD_MODE
#define BR_BUILD_MODE "unknown"
#endif

namespace busyring::base {

const char* version() noexcept { return "0.1.0"; }
const char* git_commit() noexcept { return BR_GIT_COMMIT; }
const char* build_mode() noexcept { return BR_BUILD_MODE; }

std::string version_text(std::string_view program) {
  return std::string(program) + " " + version() + " (commit " + git_commit() + ", " + build_mode() + " build)\n";
}

}  // namespace busyring::base
