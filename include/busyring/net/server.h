// Runs the shards: one thread each, started together; prints "listening on HOST:PORT" once
// every shard accepts; on SIGTERM/SIGINT stops them (finish and flush what was received) and
// returns the process exit status.
#pragma once

#include <vector>

#include "busyring/config/config.h"
#include "busyring/ids/block_source.h"
#include "busyring/net/shard.h"

namespace busyring::net {

struct ServerPlan {
  std::vector<ShardSetup> shards;
  uint16_t port = 0;
  std::string banner;  // the start-up line, logged once the shards run
};

// Signals must already be blocked in the calling thread (block_stop_signals) so every shard
// thread inherits the mask and only the main thread takes them.
void block_stop_signals() noexcept;

int run_server(const config::Config& config, ids::BlockSource& source, ServerPlan plan,
               const metrics::ShardMetrics* const* all_metrics);

}  // namespace busyring::net
