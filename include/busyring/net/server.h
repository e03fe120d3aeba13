// Runs the shards: one thread each, started together; prints "listening on HOST:PORT" once
// every shard accepts; on SIGTERM/SIGINT stops them (finish and flush what was received) and
// returns the process exit status. What main hands over is a plan: per shard, its CPU, its
// listener, where its log resumes and the ids it issues first. The shards themselves are net's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/config/config.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/id_range.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/storage/recovery.h"

namespace busyring::net {

struct ShardSetup {
  uint32_t index = 0;
  int cpu = -1;  // -1: not pinned
  int listen_fd = -1;
  storage::AppendPosition position;
  std::vector<ids::IdRange> holes;
  metrics::ShardMetrics* metrics = nullptr;
};

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
