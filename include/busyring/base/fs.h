// Small filesystem helpers shared by the modules that make files durable (storage, ids).
#pragma once

#include <string>

namespace busyring::base {

// fsync of a directory, so that entries created or renamed in it survive a crash. 0 or -errno.
[[nodiscard]] int fsync_dir(const std::string& dir);

}  // namespace busyring::base
