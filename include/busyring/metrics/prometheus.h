// Renders the sum of every shard's counters in the Prometheus text exposition format (0.0.4).
#pragma once

#include <cstddef>

#include "busyring/metrics/shard_metrics.h"

namespace busyring::metrics {

// The node's id source, when ids come from a shared counter (Redis): gauges read at scrape time.
struct IdSourceGauges {
  uint64_t up = 0;           // 1: the last call to the counter succeeded
  uint64_t refused = 0;      // 1: the counter went behind this node's ids; nothing is issued
  uint64_t reserve_ids = 0;  // ids reserved and not yet handed to a shard
  uint64_t calls = 0;        // calls to the counter (INCRBY)
  uint64_t errors = 0;       // failed calls
};

// The live log against --max-log-size (storage/log_size.h), read at scrape time.
struct LogGauges {
  uint64_t live_bytes = 0;  // bytes of segment files on disk
  uint64_t max_bytes = 0;   // --max-log-size; 0: none
  bool export_lag_known = false;  // --export-checkpoint given
  uint64_t export_lag_ns = 0;     // storage/export_lag.h
};

// Writes at most `cap` bytes into out; returns the bytes written (truncated output ends at the
// last complete line).
// reason_names[i] labels rejections[i] (busyring_rejections_total{reason=...}); may be null.
size_t render_prometheus(const ShardMetrics* const* shards, size_t shard_count, char* out,
                         size_t cap, const char* const* reason_names = nullptr,
                         size_t reason_count = 0, const IdSourceGauges* id_source = nullptr,
                         const LogGauges* log = nullptr) noexcept;

}  // namespace busyring::metrics
