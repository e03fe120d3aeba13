// Taking a data dir at start-up: created if missing, locked for the life of the process
// (DATA_DIR/LOCK: a second server on the same dir refuses), and checked to take O_DIRECT
// (the log writes with nothing else), before anything is read or written in it.
#pragma once

#include <string>

#include "busyring/base/result.h"

namespace busyring::storage {

// An error is one sentence that says what is wrong and how to fix it.
[[nodiscard]] base::Status open_data_dir(const std::string& dir);

// Takes DATA_DIR/LOCK (created if missing) without waiting: the held fd, which keeps it until
// closed, or -errno (-EWOULDBLOCK: a server or the log tool holds it). Whoever writes in a
// data dir takes it first (the server for its life, busyring-log salvage while it repairs).
[[nodiscard]] int lock_data_dir(const std::string& dir);

}  // namespace busyring::storage
