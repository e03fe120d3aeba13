// The server's counters summed over every shard at one moment (relaxed reads), and what two
// such moments say: request and record rates, POST p99, records per log write. For the
// periodic lines (--log-interval) and systemd's STATUS.
#pragma once

#include <cstddef>
#include <cstdint>

#include "busyring/metrics/shard_metrics.h"

namespace busyring::metrics {

struct Totals {
  uint64_t at_ns = 0;  // monotonic
  uint64_t requests = 0;
  uint64_t records = 0;
  uint64_t flushes = 0;
  uint64_t connections = 0;
  uint64_t healthy_shards = 0;
  uint64_t latency_buckets[kLatencyBuckets] = {};
};

Totals take_totals(const ShardMetrics* const* shards, size_t n, uint64_t at_ns) noexcept;

struct Rates {
  double requests_per_s = 0;
  double records_per_s = 0;
  double records_per_flush = 0;
  // The bound of the latency bucket holding the 99th percentile of the POSTs between the two
  // moments, in ms; 0 when there were none, negative when it is above the top bound.
  double p99_ms = 0;
};

Rates rates_between(const Totals& before, const Totals& after) noexcept;

}  // namespace busyring::metrics
