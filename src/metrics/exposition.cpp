// The /metrics page and its per-shard series (see exposition.h).
#include "busyring/metrics/exposition.h"

#include "busyring/base/version.h"
#include "busyring/metrics/process_metrics.h"
#include "text_writer.h"

namespace busyring::metrics {
namespace {

struct ShardFamily {
  const char* name;
  const char* type;
  const char* help;
  uint64_t (*value)(const ShardMetrics&);
};

uint64_t shard_requests(const ShardMetrics& m) {
  uint64_t total = 0;
  for (const auto& route : m.requests)
    for (const auto& c : route) total += read(c);
  return total;
}

constexpr ShardFamily kShardFamilies[] = {
    {"busyring_shard_requests_total", "counter", "HTTP requests answered by this shard.", shard_requests},
    {"busyring_shard_records_written_total", "counter", "Records this shard's log holds as --ack promises.",
     [](const ShardMetrics& m) { return read(m.records_written); }},
    {"busyring_shard_connections_open", "gauge", "Client connections open on this shard.",
     [](const ShardMetrics& m) { return read(m.connections_open); }},
    {"busyring_shard_storage_healthy", "gauge", "1 while this shard's log accepts writes.",
     [](const ShardMetrics& m) { return read(m.storage_healthy); }},
    {"busyring_shard_loop_turns_total", "counter",
     "Turns of this shard's event loop (at least 10 a second when idle; stops when the loop is stuck).",
     [](const ShardMetrics& m) { return read(m.loop_turns); }},
};

}  // namespace

size_t render_shard_series(const ShardMetrics* const* shards, size_t n, char* buf, size_t cap) noexcept {
  TextWriter out(buf, cap);
  for (const ShardFamily& f : kShardFamilies) {
    out.line("# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.type);
    for (size_t i = 0; i < n; ++i)
      out.line("%s{shard=\"%zu\"} %llu\n", f.name, i, static_cast<unsigned long long>(f.value(*shards[i])));
  }
  return out.len();
}

size_t render_metrics_page(const ShardMetrics* const* shards, size_t n, char* out, size_t cap,
                           const char* const* reason_names, size_t reason_count,
                           const IdSourceGauges* id_source) noexcept {
  size_t len = render_prometheus(shards, n, out, cap, reason_names, reason_count, id_source);
  len += render_build_info(base::version(), base::git_commit(), out + len, cap - len);
  ProcessStats stats;
  if (read_process_stats(stats)) len += render_process_metrics(stats, out + len, cap - len);
  len += render_shard_series(shards, n, out + len, cap - len);
  return len;
}

}  // namespace busyring::metrics
