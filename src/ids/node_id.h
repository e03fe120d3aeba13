// DATA_DIR/node-id: a random name this node keeps for the life of its data dir, so that a
// shared id counter can keep a record per node (the last range it handed that node).
#pragma once

#include <string>

#include "busyring/base/result.h"

namespace busyring::ids {

// Reads DATA_DIR/node-id, or creates it (16 hex digits from getrandom, written and synced).
base::Result<std::string> load_or_create_node_id(const std::string& data_dir);

}  // namespace busyring::ids
