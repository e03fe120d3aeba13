// The whole /metrics page: the server's summed series (prometheus.h), busyring_build_info, the
// standard process_* metrics (process_metrics.h), then a few series per shard with a `shard`
// label (for the status page's row per shard). The per-shard series come last, so that a page
// cut short by the buffer loses them first; 64 KiB holds them for about 200 shards.
#pragma once

#include <cstddef>

#include "busyring/metrics/prometheus.h"
#include "busyring/metrics/shard_metrics.h"

namespace busyring::metrics {

size_t render_metrics_page(const ShardMetrics* const* shards, size_t shard_count, char* out, size_t cap,
                           const char* const* reason_names, size_t reason_count,
                           const IdSourceGauges* id_source) noexcept;

// busyring_shard_requests_total, busyring_shard_records_written_total,
// busyring_shard_connections_open, busyring_shard_storage_healthy and
// busyring_shard_loop_turns_total (the heartbeat), each {shard="K"}.
size_t render_shard_series(const ShardMetrics* const* shards, size_t shard_count, char* out, size_t cap) noexcept;

}  // namespace busyring::metrics
