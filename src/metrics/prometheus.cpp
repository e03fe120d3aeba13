// Prometheus text rendering: sums the shards' counters at scrape time. One function per kind
// of family (labelled counters, histograms, single samples), fed by tables, in the order the
// families are exposed.
#include "busyring/metrics/prometheus.h"

#include "text_writer.h"

namespace busyring::metrics {
namespace {

struct Shards {
  const ShardMetrics* const* blocks;
  size_t count;
  uint64_t sum(const Counter ShardMetrics::*field) const {
    uint64_t total = 0;
    for (size_t i = 0; i < count; ++i) total += read(blocks[i]->*field);
    return total;
  }
};

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

// A family of one sample: # HELP, # TYPE and the value.
void single(TextWriter& out, const char* name, const char* type, const char* help, uint64_t value) {
  out.line("# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, ull(value));
}

// Single-sample families summed over the shards, in exposition order.
struct Scalar {
  const char* name;
  const char* type;
  const char* help;
  const Counter ShardMetrics::*field;
};

constexpr Scalar kLogScalars[] = {
    {"busyring_records_written_total", "counter", "Records on disk as --ack promises.", &ShardMetrics::records_written},
    {"busyring_bytes_written_total", "counter", "Bytes written to the logs, padding included.",
     &ShardMetrics::bytes_written},
    {"busyring_flushes_total", "counter", "Log writes completed.", &ShardMetrics::flushes},
    {"busyring_flush_failures_total", "counter", "Log writes that failed.", &ShardMetrics::flush_failures},
    {"busyring_log_segment_waits_total", "counter",
     "Times the log filled its segment before the next one was prepared (appends wait meanwhile).",
     &ShardMetrics::segment_waits},
};

constexpr Scalar kNodeScalars[] = {
    {"busyring_ids_issued_total", "counter", "Ids given to records.", &ShardMetrics::ids_issued},
    {"busyring_id_blocks_taken_total", "counter", "Id blocks reserved from the shared counter.",
     &ShardMetrics::id_blocks_taken},
    {"busyring_holes_reissued_total", "counter", "Ids below the recovered maximum issued again (holes).",
     &ShardMetrics::holes_reissued},
    {"busyring_recovery_torn_tails_total", "counter",
     "Log segments whose torn, unacknowledged tail (writes in flight at a crash) recovery voided at start.",
     &ShardMetrics::recovery_torn_tails},
    {"busyring_workspaces_in_use", "gauge", "Connection workspaces attached to busy connections (idle ones hold none).",
     &ShardMetrics::workspaces_in_use},
    {"busyring_connections_open", "gauge", "Open client connections.", &ShardMetrics::connections_open},
    {"busyring_connections_accepted_total", "counter", "Client connections accepted.",
     &ShardMetrics::connections_accepted},
    {"busyring_connections_rejected_total", "counter",
     "Connections closed at once because --max-connections was reached.", &ShardMetrics::connections_rejected},
    {"busyring_recv_enobufs_total", "counter", "Receives that found the buffer ring empty.",
     &ShardMetrics::recv_enobufs},
    {"busyring_cq_overflows_total", "counter", "io_uring completion queue overflows.", &ShardMetrics::cq_overflows},
    {"busyring_stale_completions_total", "counter", "Completions for a connection slot already reused (dropped).",
     &ShardMetrics::stale_cqes},
    {"busyring_storage_healthy_shards", "gauge", "Shards whose log accepts writes.", &ShardMetrics::storage_healthy},
};

template <size_t N>
void scalars(TextWriter& out, const Shards& shards, const Scalar (&table)[N]) {
  for (const Scalar& s : table) single(out, s.name, s.type, s.help, shards.sum(s.field));
}

// Requests by route and status code: every pair a route can answer with (known_status), at 0
// until it happens; a pair outside those only once it was answered.
void requests(TextWriter& out, const Shards& shards) {
  out.line("# HELP busyring_requests_total HTTP requests answered, by route and status code.\n"
           "# TYPE busyring_requests_total counter\n");
  for (size_t r = 0; r < kRoutes; ++r) {
    for (size_t s = 0; s < kStatusCount; ++s) {
      uint64_t total = 0;
      for (size_t i = 0; i < shards.count; ++i) total += read(shards.blocks[i]->requests[r][s]);
      if (total == 0 && !known_status(static_cast<Route>(r), kStatuses[s])) continue;
      out.line("busyring_requests_total{route=\"%s\",code=\"%u\"} %llu\n", route_name(static_cast<Route>(r)),
               kStatuses[s], ull(total));
    }
  }
}

// A histogram's cumulative buckets, `le` in seconds (bounds in microseconds) or as counts,
// ending in +Inf. Returns the +Inf bucket: every observation.
template <size_t Buckets>
uint64_t buckets(TextWriter& out, const Shards& shards, const char* name, const Counter (ShardMetrics::*field)[Buckets],
                 const uint64_t (&bounds)[Buckets - 1], bool bounds_in_us) {
  uint64_t cumulative = 0;
  for (size_t b = 0; b < Buckets; ++b) {
    for (size_t i = 0; i < shards.count; ++i) cumulative += read((shards.blocks[i]->*field)[b]);
    if (b + 1 == Buckets)
      out.line("%s_bucket{le=\"+Inf\"} %llu\n", name, ull(cumulative));
    else if (bounds_in_us)
      out.line("%s_bucket{le=\"%g\"} %llu\n", name, static_cast<double>(bounds[b]) / 1e6, ull(cumulative));
    else
      out.line("%s_bucket{le=\"%llu\"} %llu\n", name, ull(bounds[b]), ull(cumulative));
  }
  return cumulative;
}

void request_duration(TextWriter& out, const Shards& shards) {
  const char* name = "busyring_request_duration_seconds";
  out.line("# HELP %s POST /api/usages latency, first byte to response queued.\n# TYPE %s histogram\n", name, name);
  (void)buckets(out, shards, name, &ShardMetrics::latency_buckets, kLatencyBoundsUs, true);
  out.line("%s_sum %.6f\n", name, static_cast<double>(shards.sum(&ShardMetrics::latency_sum_us)) / 1e6);
  out.line("%s_count %llu\n", name, ull(shards.sum(&ShardMetrics::latency_count)));
}

void flush_records(TextWriter& out, const Shards& shards) {
  const char* name = "busyring_flush_records";
  out.line("# HELP %s Records per log write.\n# TYPE %s histogram\n", name, name);
  const uint64_t count = buckets(out, shards, name, &ShardMetrics::flush_buckets, kFlushBounds, false);
  out.line("%s_sum %llu\n%s_count %llu\n", name, ull(shards.sum(&ShardMetrics::records_written)), name, ull(count));
}

void log_write_duration(TextWriter& out, const Shards& shards) {
  const char* name = "busyring_log_write_duration_seconds";
  out.line("# HELP %s Log write latency, submission to completion (with its fdatasync under --ack=durable).\n"
           "# TYPE %s histogram\n",
           name, name);
  const uint64_t count = buckets(out, shards, name, &ShardMetrics::write_latency_buckets, kLatencyBoundsUs, true);
  out.line("%s_sum %.6f\n%s_count %llu\n", name,
           static_cast<double>(shards.sum(&ShardMetrics::write_latency_sum_us)) / 1e6, name, ull(count));
}

// Every reason, zeros included (a scraper sees the whole set from the first scrape).
void rejections(TextWriter& out, const Shards& shards, const char* const* reason_names, size_t reason_count) {
  if (reason_names == nullptr || reason_count == 0) return;
  out.line("# HELP busyring_rejections_total Requests refused, by reason.\n"
           "# TYPE busyring_rejections_total counter\n");
  for (size_t r = 0; r < reason_count && r < kMaxReasons; ++r) {
    uint64_t total = 0;
    for (size_t i = 0; i < shards.count; ++i) total += read(shards.blocks[i]->rejections[r]);
    out.line("busyring_rejections_total{reason=\"%s\"} %llu\n", reason_names[r], ull(total));
  }
}

// A counter family by a fixed set of reasons, zeros included (a scraper sees the whole set from
// the first scrape).
template <size_t N>
void by_reason(TextWriter& out, const Shards& shards, const char* name, const char* help,
               const Counter (ShardMetrics::*field)[N], const char* const (&reasons)[N]) {
  out.line("# HELP %s %s\n# TYPE %s counter\n", name, help, name);
  for (size_t r = 0; r < N; ++r) {
    uint64_t total = 0;
    for (size_t i = 0; i < shards.count; ++i) total += read((shards.blocks[i]->*field)[r]);
    out.line("%s{reason=\"%s\"} %llu\n", name, reasons[r], ull(total));
  }
}

// Bearer token refusals (without --auth-token-file, all zero).
void auth_refusals(TextWriter& out, const Shards& shards) {
  static constexpr const char* kReasons[kAuthRefusalReasons] = {"missing", "invalid", "malformed"};
  by_reason(out, shards, "busyring_auth_refusals_total",
            "Requests refused for want of a valid bearer token, by reason.", &ShardMetrics::auth_refusals, kReasons);
}

// Requests that waited for the log or for ids before they could be appended.
void held_requests(TextWriter& out, const Shards& shards) {
  static constexpr const char* kReasons[kHoldReasons] = {"log", "ids"};
  by_reason(out, shards, "busyring_held_requests_total",
            "Complete, valid requests held before their append, by what they waited for (log buffers or the "
            "next segment; the id reserve).",
            &ShardMetrics::held_requests, kReasons);
}

void id_source_gauges(TextWriter& out, const IdSourceGauges* g) {
  if (g == nullptr) return;
  single(out, "busyring_id_source_up", "gauge", "1 when the last call to the shared id counter (Redis) succeeded.",
         g->up);
  single(out, "busyring_id_source_refused", "gauge",
         "1 when the shared counter went behind ids this node holds (nothing is issued until it is set right).",
         g->refused);
  single(out, "busyring_id_reserve_ids", "gauge",
         "Ids reserved from the shared counter and not yet given to a shard.", g->reserve_ids);
  single(out, "busyring_id_source_calls_total", "counter", "Calls to the shared id counter (INCRBY).", g->calls);
  single(out, "busyring_id_source_errors_total", "counter", "Failed calls to the shared id counter.", g->errors);
}

void log_gauges(TextWriter& out, const LogGauges* g) {
  if (g == nullptr) return;
  single(out, "busyring_log_live_bytes", "gauge",
         "Bytes of log segment files on disk (retire exported ones with busyring-log retire).", g->live_bytes);
  single(out, "busyring_log_max_bytes", "gauge",
         "--max-log-size: at it, POSTs answer 503 until segments are retired (0: no limit).", g->max_bytes);
  if (!g->export_lag_known) return;
  out.line("# HELP busyring_export_lag_seconds Age of the oldest record the committed export checkpoint "
           "(--export-checkpoint) does not cover yet; 0 when every record is exported.\n"
           "# TYPE busyring_export_lag_seconds gauge\nbusyring_export_lag_seconds %llu.%03llu\n",
           ull(g->export_lag_ns / 1'000'000'000), ull(g->export_lag_ns / 1'000'000 % 1000));
}

}  // namespace

size_t render_prometheus(const ShardMetrics* const* shard_blocks, size_t n, char* buf, size_t cap,
                         const char* const* reason_names, size_t reason_count,
                         const IdSourceGauges* id_source, const LogGauges* log) noexcept {
  if (cap == 0) return 0;
  TextWriter out(buf, cap);
  const Shards shards{shard_blocks, n};
  requests(out, shards);
  request_duration(out, shards);
  scalars(out, shards, kLogScalars);
  flush_records(out, shards);
  log_write_duration(out, shards);
  rejections(out, shards, reason_names, reason_count);
  auth_refusals(out, shards);
  held_requests(out, shards);
  scalars(out, shards, kNodeScalars);
  id_source_gauges(out, id_source);
  log_gauges(out, log);
  return out.len();
}

}  // namespace busyring::metrics
