// Renders the sum of every shard's counters in the Prometheus text exposition format (0.0.4).
#pragma once

#include <cstddef>

#include "busyring/metrics/shard_metrics.h"

namespace busyring::metrics {

// Writes at most `cap` bytes into out; returns the bytes written (truncated output ends at the
// last complete line).
// reason_names[i] labels rejections[i] (busyring_rejections_total{reason=...}); may be null.
size_t render_prometheus(const ShardMetrics* const* shards, size_t shard_count, char* out,
                         size_t cap, const char* const* reason_names = nullptr,
                         size_t reason_count = 0) noexcept;

}  // namespace busyring::metrics
