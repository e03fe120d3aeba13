// Per-shard metric counters. Each shard writes only its own block (single writer, so a bump is
// a relaxed load + store, no locked instruction); /metrics reads every block with relaxed loads
// and sums them at scrape time. Blocks are cache-line aligned so shards never share a line.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace busyring::metrics {

using Counter = std::atomic<uint64_t>;

inline void bump(Counter& c, uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline uint64_t read(const Counter& c) noexcept { return c.load(std::memory_order_relaxed); }

enum class Route : uint8_t { usages, healthz, metrics, status, other, count };
inline constexpr size_t kRoutes = static_cast<size_t>(Route::count);
const char* route_name(Route route) noexcept;

// Statuses we answer with, in one table so counters can be arrays.
inline constexpr uint16_t kStatuses[] = {200, 201, 400, 401, 404, 405, 408, 411, 413,
                                         414, 415, 417, 422, 431, 500, 501, 503, 505};
inline constexpr size_t kStatusCount = sizeof(kStatuses) / sizeof(kStatuses[0]);
size_t status_index(uint16_t status) noexcept;  // kStatusCount if not in the table
// The statuses a route can answer with: /metrics renders these series from the start, at 0,
// so that the first 503 shows in rate() (a series that appears with its first event does not).
bool known_status(Route route, uint16_t status) noexcept;

// Request latency, first byte to response queued, in microsecond bucket bounds.
inline constexpr uint64_t kLatencyBoundsUs[] = {50,    100,   250,    500,    1000,   2500,
                                                5000,  10000, 25000,  50000,  100000, 250000,
                                                500000, 1000000};
inline constexpr size_t kLatencyBuckets = sizeof(kLatencyBoundsUs) / sizeof(kLatencyBoundsUs[0]) + 1;

// Records per log write.
inline constexpr uint64_t kFlushBounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
inline constexpr size_t kFlushBuckets = sizeof(kFlushBounds) / sizeof(kFlushBounds[0]) + 1;

// Rejections are counted by a reason index; the names come from the api's error table at
// render time (metrics knows nothing above base).
inline constexpr size_t kMaxReasons = 32;

// Bearer token refusals (--auth-token-file), by reason: no Authorization, a token not in the
// set, an Authorization that is not one Bearer token (another scheme included).
enum class AuthRefusalReason : uint8_t { missing, invalid, malformed, count };
inline constexpr size_t kAuthRefusalReasons = static_cast<size_t>(AuthRefusalReason::count);

// Requests held after they were complete and valid, by what they waited for: the log (every
// buffer taken, or the next segment not prepared yet) or ids (the reserve refilling). Counted
// once per request, however often it is retried.
enum class HoldReason : uint8_t { log, ids, count };
inline constexpr size_t kHoldReasons = static_cast<size_t>(HoldReason::count);

struct alignas(64) ShardMetrics {
  Counter requests[kRoutes][kStatusCount] = {};
  Counter latency_buckets[kLatencyBuckets] = {};
  Counter latency_sum_us = 0;
  Counter latency_count = 0;
  Counter records_written = 0;
  Counter bytes_written = 0;
  Counter flushes = 0;
  Counter flush_failures = 0;
  Counter flush_buckets[kFlushBuckets] = {};
  Counter ids_issued = 0;
  Counter connections_open = 0;  // gauge, kept by its own shard
  Counter connections_accepted = 0;
  Counter connections_rejected = 0;  // over --max-connections
  Counter recv_enobufs = 0;
  Counter cq_overflows = 0;
  Counter stale_cqes = 0;
  Counter storage_healthy = 1;  // gauge 0/1
  Counter rejections[kMaxReasons] = {};
  Counter write_latency_buckets[kLatencyBuckets] = {};  // log write (+ fdatasync) latency
  Counter write_latency_sum_us = 0;
  Counter id_blocks_taken = 0;  // gauges mirrored from the shard's id issuer
  Counter holes_reissued = 0;
  Counter workspaces_in_use = 0;  // gauge mirrored from the shard's workspace pool
  // The shard's heartbeat: bumped every loop turn, also one that only woke from its timeout
  // (an idle loop turns at least every 100 ms). The service watch pings systemd's watchdog only
  // while every shard's count moves.
  Counter loop_turns = 0;
  Counter recovery_torn_tails = 0;  // set once before the shards start (main: all in shard 0's block)
  Counter auth_refusals[kAuthRefusalReasons] = {};
  Counter held_requests[kHoldReasons] = {};
  Counter segment_waits = 0;  // mirrored from the log: times it found the next segment not prepared

  void count_request(Route route, uint16_t status) noexcept;
  void observe_latency_us(uint64_t us) noexcept;
  void observe_flush(uint64_t records) noexcept;
  void observe_write_latency_us(uint64_t us) noexcept;
  void count_rejection(size_t reason) noexcept {
    if (reason < kMaxReasons) bump(rejections[reason]);
  }
};

}  // namespace busyring::metrics
