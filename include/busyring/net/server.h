// Runs the shards: one thread each, started together; prints "listening on HOST:PORT" once
// every shard accepts; on SIGTERM, SIGINT or SIGQUIT stops them (finish and flush what was
// received) and returns the process exit status. SIGHUP never stops the server: it runs the
// plan's reload hook (systemd's ExecReload and operators send it by reflex). What main hands
// over is a plan: per shard, its CPU, its listener, where its log resumes and the ids it
// issues first. The shards themselves are net's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "busyring/config/config.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/id_range.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/net/shared_tokens.h"
#include "busyring/storage/export_lag.h"
#include "busyring/storage/log_size.h"
#include "busyring/storage/recovery.h"

namespace busyring::net {

struct ShardSetup {
  uint32_t index = 0;
  int cpu = -1;  // -1: not pinned
  int listen_fd = -1;
  int admin_fd = -1;  // --admin-bind: the admin listener, on shard 0 only (see admin_listener.cpp)
  storage::AppendPosition position;
  storage::SummaryBuilder resumed;  // what recovery found in position's segment
  std::vector<ids::IdRange> holes;
  metrics::ShardMetrics* metrics = nullptr;
};

struct ServerPlan {
  std::vector<ShardSetup> shards;
  uint16_t port = 0;
  std::string banner;  // the start-up line, logged once the shards run
  std::string listen_where;  // "[::]:3000": the "listening on" line's HOST:PORT
  std::string admin_where;   // --admin-bind's HOST:PORT once bound; empty without it
  // --auth-token-file: the bearer tokens the public port asks for, re-read at each SIGHUP
  // (after on_reload); nullptr: no token is asked.
  std::unique_ptr<SharedTokens> tokens;
  // Runs on the main thread at each SIGHUP, while the shards keep serving. The hook for what
  // an operator expects SIGHUP to re-read (bearer token files, a later issue); when empty, the
  // server logs that there is nothing to reload.
  std::function<void()> on_reload;
  const storage::LogSizeGauge* log_size = nullptr;  // the live log against --max-log-size
  const storage::ExportLagGauge* export_lag = nullptr;  // --export-checkpoint; null without it
};

// The signals the main thread waits for: SIGTERM, SIGINT, SIGQUIT (stop) and SIGHUP (reload).
// Block them first thing in main, before any thread starts (the shards, recovery's pool, the
// Redis id thread), so every thread inherits the mask and only the main thread takes them:
// a thread with the default action would let SIGHUP or SIGQUIT kill the process.
void block_stop_signals() noexcept;

int run_server(const config::Config& config, ids::BlockSource& source, ServerPlan plan,
               const metrics::ShardMetrics* const* all_metrics);

}  // namespace busyring::net
