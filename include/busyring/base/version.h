// What `--version` prints for every busyring tool: the release, the git commit the binary was
// built from and the build mode. The commit and mode are compiled into src/base/version.cpp
// alone (the Makefile passes them), so a new commit rebuilds one object, not the tree.
#pragma once

#include <string>
#include <string_view>

namespace busyring::base {

const char* version() noexcept;      // "0.1.0"
const char* git_commit() noexcept;   // "1d866d1", or "unknown" outside a git checkout
const char* build_mode() noexcept;   // "release", "debug", "asan"

// "busyring 0.1.0 (commit 1d866d1, release build)\n"
std::string version_text(std::string_view program);

}  // namespace busyring::base
