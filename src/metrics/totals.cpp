// Totals and rates (see totals.h).
#include "busyring/metrics/totals.h"

namespace busyring::metrics {

Totals take_totals(const ShardMetrics* const* shards, size_t n, uint64_t at_ns) noexcept {
  Totals t;
  t.at_ns = at_ns;
  for (size_t i = 0; i < n; ++i) {
    const ShardMetrics& m = *shards[i];
    for (const auto& route : m.requests)
      for (const auto& c : route) t.requests += read(c);
    t.records += read(m.records_written);
    t.flushes += read(m.flushes);
    t.connections += read(m.connections_open);
    t.healthy_shards += read(m.storage_healthy);
    for (size_t b = 0; b < kLatencyBuckets; ++b) t.latency_buckets[b] += read(m.latency_buckets[b]);
  }
  return t;
}

Rates rates_between(const Totals& before, const Totals& after) noexcept {
  Rates r;
  const double secs = static_cast<double>(after.at_ns - before.at_ns) / 1e9;
  if (secs <= 0) return r;
  const uint64_t records = after.records - before.records;
  const uint64_t flushes = after.flushes - before.flushes;
  r.requests_per_s = static_cast<double>(after.requests - before.requests) / secs;
  r.records_per_s = static_cast<double>(records) / secs;
  r.records_per_flush = flushes > 0 ? static_cast<double>(records) / static_cast<double>(flushes) : 0.0;
  uint64_t count = 0;
  for (size_t b = 0; b < kLatencyBuckets; ++b) count += after.latency_buckets[b] - before.latency_buckets[b];
  uint64_t seen = 0;
  for (size_t b = 0; b < kLatencyBuckets && count > 0; ++b) {
    seen += after.latency_buckets[b] - before.latency_buckets[b];
    if (seen * 100 >= count * 99) {
      r.p99_ms = b + 1 < kLatencyBuckets ? static_cast<double>(kLatencyBoundsUs[b]) / 1000.0 : -1.0;
      break;
    }
  }
  return r;
}

}  // namespace busyring::metrics
