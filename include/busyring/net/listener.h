// Listening sockets, one per shard, all bound to the same address with SO_REUSEPORT so the
// kernel spreads connections across shards. With port 0, the first socket picks a free port
// and the others bind that same port.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/result.h"

namespace busyring::net {

struct Listeners {
  std::vector<int> fds;
  uint16_t port = 0;
};

[[nodiscard]] base::Result<Listeners> open_listeners(const std::string& bind, uint16_t port,
                                                     uint32_t count);

}  // namespace busyring::net
