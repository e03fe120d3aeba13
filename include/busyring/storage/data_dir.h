// Taking a data dir at start-up: created if missing, locked for the life of the process
// (DATA_DIR/LOCK: a second server on the same dir refuses), and checked to take O_DIRECT
// (the log writes with nothing else), before anything is read or written in it.
#pragma once

#include <string>

#include "busyring/base/result.h"

namespace busyring::storage {

// An error is one sentence that says what is wrong and how to fix it.
[[nodiscard]] base::Status open_data_dir(const std::string& dir);

}  // namespace busyring::storage
