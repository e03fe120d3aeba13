// Prometheus text rendering: sums the shards' counters at scrape time.
#include "busyring/metrics/prometheus.h"

#include <cstdarg>
#include <cstdio>

namespace busyring::metrics {
namespace {

class Out {
 public:
  Out(char* buf, size_t cap) : buf_(buf), cap_(cap) {}
  void line(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    if (full_) return;
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf_ + len_, cap_ - len_, fmt, ap);
    va_end(ap);
    if (n < 0 || static_cast<size_t>(n) >= cap_ - len_) {
      full_ = true;
      buf_[len_] = '\0';
      return;
    }
    len_ += static_cast<size_t>(n);
  }
  size_t len() const { return len_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  bool full_ = false;
};

using Getter = const Counter& (*)(const ShardMetrics&);

uint64_t sum(const ShardMetrics* const* shards, size_t n, const Counter ShardMetrics::*field) {
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) total += read(shards[i]->*field);
  return total;
}

void scalar(Out& out, const ShardMetrics* const* shards, size_t n, const char* name,
            const char* type, const char* help, const Counter ShardMetrics::*field) {
  out.line("# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
           static_cast<unsigned long long>(sum(shards, n, field)));
}

}  // namespace

size_t render_prometheus(const ShardMetrics* const* shards, size_t n, char* buf, size_t cap,
                         const char* const* reason_names, size_t reason_count,
                         const IdSourceGauges* id_source) noexcept {
  if (cap == 0) return 0;
  Out out(buf, cap);
  out.line("# HELP busyring_requests_total HTTP requests answered, by route and status.\n"
           "# TYPE busyring_requests_total counter\n");
  for (size_t r = 0; r < kRoutes; ++r) {
    for (size_t s = 0; s < kStatusCount; ++s) {
      uint64_t total = 0;
      for (size_t i = 0; i < n; ++i) total += read(shards[i]->requests[r][s]);
      if (total == 0) continue;
      out.line("busyring_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
               route_name(static_cast<Route>(r)), kStatuses[s],
               static_cast<unsigned long long>(total));
    }
  }
  out.line("# HELP busyring_request_duration_seconds POST /api/usages latency, first byte to "
           "response queued.\n# TYPE busyring_request_duration_seconds histogram\n");
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kLatencyBuckets; ++b) {
    for (size_t i = 0; i < n; ++i) cumulative += read(shards[i]->latency_buckets[b]);
    if (b + 1 < kLatencyBuckets)
      out.line("busyring_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
               static_cast<double>(kLatencyBoundsUs[b]) / 1e6,
               static_cast<unsigned long long>(cumulative));
    else
      out.line("busyring_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
               static_cast<unsigned long long>(cumulative));
  }
  out.line("busyring_request_duration_seconds_sum %.6f\n",
           static_cast<double>(sum(shards, n, &ShardMetrics::latency_sum_us)) / 1e6);
  out.line("busyring_request_duration_seconds_count %llu\n",
           static_cast<unsigned long long>(sum(shards, n, &ShardMetrics::latency_count)));
  scalar(out, shards, n, "busyring_records_written_total", "counter",
         "Records on disk as --ack promises.", &ShardMetrics::records_written);
  scalar(out, shards, n, "busyring_bytes_written_total", "counter",
         "Bytes written to the logs, padding included.", &ShardMetrics::bytes_written);
  scalar(out, shards, n, "busyring_flushes_total", "counter", "Log writes completed.",
         &ShardMetrics::flushes);
  scalar(out, shards, n, "busyring_flush_failures_total", "counter", "Log writes that failed.",
         &ShardMetrics::flush_failures);
  out.line("# HELP busyring_flush_records Records per log write.\n"
           "# TYPE busyring_flush_records histogram\n");
  cumulative = 0;
  uint64_t flush_records = 0;
  for (size_t b = 0; b < kFlushBuckets; ++b) {
    for (size_t i = 0; i < n; ++i) cumulative += read(shards[i]->flush_buckets[b]);
    if (b + 1 < kFlushBuckets)
      out.line("busyring_flush_records_bucket{le=\"%llu\"} %llu\n",
               static_cast<unsigned long long>(kFlushBounds[b]),
               static_cast<unsigned long long>(cumulative));
    else
      out.line("busyring_flush_records_bucket{le=\"+Inf\"} %llu\n",
               static_cast<unsigned long long>(cumulative));
  }
  flush_records = sum(shards, n, &ShardMetrics::records_written);
  out.line("busyring_flush_records_sum %llu\nbusyring_flush_records_count %llu\n",
           static_cast<unsigned long long>(flush_records),
           static_cast<unsigned long long>(cumulative));
  out.line("# HELP busyring_log_write_duration_seconds Log write latency, submission to completion "
           "(with its fdatasync under --ack=durable).\n# TYPE busyring_log_write_duration_seconds histogram\n");
  cumulative = 0;
  for (size_t b = 0; b < kLatencyBuckets; ++b) {
    for (size_t i = 0; i < n; ++i) cumulative += read(shards[i]->write_latency_buckets[b]);
    if (b + 1 < kLatencyBuckets)
      out.line("busyring_log_write_duration_seconds_bucket{le=\"%g\"} %llu\n",
               static_cast<double>(kLatencyBoundsUs[b]) / 1e6, static_cast<unsigned long long>(cumulative));
    else
      out.line("busyring_log_write_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
               static_cast<unsigned long long>(cumulative));
  }
  out.line("busyring_log_write_duration_seconds_sum %.6f\nbusyring_log_write_duration_seconds_count %llu\n",
           static_cast<double>(sum(shards, n, &ShardMetrics::write_latency_sum_us)) / 1e6,
           static_cast<unsigned long long>(cumulative));
  if (reason_names != nullptr && reason_count > 0) {
    out.line("# HELP busyring_rejections_total Requests refused, by reason.\n"
             "# TYPE busyring_rejections_total counter\n");
    for (size_t r = 0; r < reason_count && r < kMaxReasons; ++r) {
      uint64_t total = 0;
      for (size_t i = 0; i < n; ++i) total += read(shards[i]->rejections[r]);
      out.line("busyring_rejections_total{reason=\"%s\"} %llu\n", reason_names[r],
               static_cast<unsigned long long>(total));
    }
  }
  scalar(out, shards, n, "busyring_ids_issued_total", "counter", "Ids given to records.",
         &ShardMetrics::ids_issued);
  scalar(out, shards, n, "busyring_id_blocks_taken_total", "counter",
         "Id blocks reserved from the shared counter.", &ShardMetrics::id_blocks_taken);
  scalar(out, shards, n, "busyring_holes_reissued_total", "counter",
         "Ids below the recovered maximum issued again (holes).", &ShardMetrics::holes_reissued);
  scalar(out, shards, n, "busyring_recovery_torn_tails_total", "counter",
         "Log segments whose torn, unacknowledged tail (writes in flight at a crash) recovery voided at start.",
         &ShardMetrics::recovery_torn_tails);
  scalar(out, shards, n, "busyring_workspaces_in_use", "gauge",
         "Connection workspaces attached to busy connections (idle ones hold none).",
         &ShardMetrics::workspaces_in_use);
  scalar(out, shards, n, "busyring_connections_open", "gauge", "Open client connections.",
         &ShardMetrics::connections_open);
  scalar(out, shards, n, "busyring_connections_accepted_total", "counter",
         "Client connections accepted.", &ShardMetrics::connections_accepted);
  scalar(out, shards, n, "busyring_connections_rejected_total", "counter",
         "Connections closed at once because --max-connections was reached.",
         &ShardMetrics::connections_rejected);
  scalar(out, shards, n, "busyring_recv_enobufs_total", "counter",
         "Receives that found the buffer ring empty.", &ShardMetrics::recv_enobufs);
  scalar(out, shards, n, "busyring_cq_overflows_total", "counter",
         "io_uring completion queue overflows.", &ShardMetrics::cq_overflows);
  scalar(out, shards, n, "busyring_stale_completions_total", "counter",
         "Completions for a connection slot already reused (dropped).", &ShardMetrics::stale_cqes);
  out.line("# HELP busyring_storage_healthy_shards Shards whose log accepts writes.\n"
           "# TYPE busyring_storage_healthy_shards gauge\nbusyring_storage_healthy_shards %llu\n",
           static_cast<unsigned long long>(sum(shards, n, &ShardMetrics::storage_healthy)));
  if (id_source != nullptr) {
    const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
    out.line("# HELP busyring_id_source_up 1 when the last call to the shared id counter (Redis) succeeded.\n"
             "# TYPE busyring_id_source_up gauge\nbusyring_id_source_up %llu\n", u(id_source->up));
    out.line("# HELP busyring_id_source_refused 1 when the shared counter went behind ids this node holds "
             "(nothing is issued until it is set right).\n"
             "# TYPE busyring_id_source_refused gauge\nbusyring_id_source_refused %llu\n", u(id_source->refused));
    out.line("# HELP busyring_id_reserve_ids Ids reserved from the shared counter and not yet given to a shard.\n"
             "# TYPE busyring_id_reserve_ids gauge\nbusyring_id_reserve_ids %llu\n", u(id_source->reserve_ids));
    out.line("# HELP busyring_id_source_calls_total Calls to the shared id counter (INCRBY).\n"
             "# TYPE busyring_id_source_calls_total counter\nbusyring_id_source_calls_total %llu\n",
             u(id_source->calls));
    out.line("# HELP busyring_id_source_errors_total Failed calls to the shared id counter.\n"
             "# TYPE busyring_id_source_errors_total counter\nbusyring_id_source_errors_total %llu\n",
             u(id_source->errors));
  }
  return out.len();
}

}  // namespace busyring::metrics
