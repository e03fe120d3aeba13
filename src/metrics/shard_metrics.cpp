// Counter bumps with the bucket lookups kept out of the header.
#include "busyring/metrics/shard_metrics.h"

#include <iterator>

namespace busyring::metrics {

const char* route_name(Route route) noexcept {
  switch (route) {
    case Route::usages: return "/api/usages";
    case Route::healthz: return "/healthz";
    case Route::metrics: return "/metrics";
    case Route::status: return "/status";
    case Route::other: return "other";
    case Route::count: break;
  }
  return "?";
}

size_t status_index(uint16_t status) noexcept {
  for (size_t i = 0; i < kStatusCount; ++i)
    if (kStatuses[i] == status) return i;
  return kStatusCount;
}

namespace {
constexpr uint16_t kUsageStatuses[] = {201, 400, 405, 411, 415, 417, 422, 501, 503};
constexpr uint16_t kOtherStatuses[] = {400, 404, 408, 413, 414, 431, 501, 505};

bool in(const uint16_t* first, const uint16_t* last, uint16_t status) noexcept {
  for (; first != last; ++first)
    if (*first == status) return true;
  return false;
}
}  // namespace

bool known_status(Route route, uint16_t status) noexcept {
  // What api::Handler answers on each route, and 501 (an unknown method) on any. What the
  // connection answers before or without a route is counted under "other": framing errors
  // (400 malformed, a missing Host, 413, 414, 431, 505) and 408 (api::Handler::connection_error).
  switch (route) {
    case Route::usages: return in(std::begin(kUsageStatuses), std::end(kUsageStatuses), status);
    case Route::healthz: return status == 200 || status == 503 || status == 405 || status == 501;
    case Route::metrics:
    case Route::status: return status == 200 || status == 405 || status == 501;
    case Route::other: return in(std::begin(kOtherStatuses), std::end(kOtherStatuses), status);
    case Route::count: break;
  }
  return false;
}

void ShardMetrics::count_request(Route route, uint16_t status) noexcept {
  const size_t s = status_index(status);
  if (s < kStatusCount) bump(requests[static_cast<size_t>(route)][s]);
}

void ShardMetrics::observe_latency_us(uint64_t us) noexcept {
  size_t b = 0;
  while (b < kLatencyBuckets - 1 && us > kLatencyBoundsUs[b]) ++b;
  bump(latency_buckets[b]);
  bump(latency_sum_us, us);
  bump(latency_count);
}

void ShardMetrics::observe_write_latency_us(uint64_t us) noexcept {
  size_t b = 0;
  while (b < kLatencyBuckets - 1 && us > kLatencyBoundsUs[b]) ++b;
  bump(write_latency_buckets[b]);
  bump(write_latency_sum_us, us);
}

void ShardMetrics::observe_flush(uint64_t records) noexcept {
  size_t b = 0;
  while (b < kFlushBuckets - 1 && records > kFlushBounds[b]) ++b;
  bump(flush_buckets[b]);
}

}  // namespace busyring::metrics
