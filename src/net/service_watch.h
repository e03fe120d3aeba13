// Tells systemd how the running server is (sd_notify(3), through base/sd_notify.h): READY=1 once
// every shard accepts, a STATUS= rate line every few seconds, WATCHDOG=1 only while every
// shard's loop is turning, STOPPING=1 when the shutdown begins. One thread of its own reads the
// shards' heartbeats (ShardMetrics::loop_turns, relaxed) and never touches a shard otherwise.
//
// Watchdog rule: with WatchdogSec=W, every W/2 each shard's heartbeat must have moved since the
// last check; then (and only then) WATCHDOG=1 is sent. An idle shard's loop turns every
// kShardIdleTurnNs (its timer), so a healthy shard moves several times per check, and a shard
// stuck in a blocking call stops the pings: systemd kills and restarts the service after W.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "busyring/metrics/shard_metrics.h"
#include "busyring/metrics/totals.h"

namespace busyring::net {

// The longest a shard's loop sleeps when nothing happens (its wait timeout).
inline constexpr uint64_t kShardIdleTurnNs = 100'000'000;
// How often STATUS= is refreshed while serving.
inline constexpr uint64_t kStatusPeriodNs = 2'000'000'000;

// Empty when a watchdog of watchdog_usec can be honoured; else the start-up line saying why
// not (it must be at least 4 idle turns, so that a check never depends on one late turn).
std::string watchdog_problem(uint64_t watchdog_usec);

class ServiceWatch {
 public:
  // watchdog_usec: base::watchdog_usec() (0: no watchdog).
  ServiceWatch(const metrics::ShardMetrics* const* shards, size_t n, uint64_t watchdog_usec);
  ~ServiceWatch();  // stop() if still running
  ServiceWatch(const ServiceWatch&) = delete;
  ServiceWatch& operator=(const ServiceWatch&) = delete;

  // READY=1 with a first STATUS naming where the server listens; starts the thread.
  void start(const std::string& listening);
  // STOPPING=1 with STATUS=why; stops the thread (no ping after this returns). Idempotent.
  void stop(const char* why);

 private:
  void run();
  void check_heartbeats();
  void send_status();

  const metrics::ShardMetrics* const* shards_;
  size_t n_;
  uint64_t watchdog_ns_;
  std::string listening_;
  std::vector<uint64_t> last_turns_;
  std::vector<uint64_t> stalled_since_ns_;  // 0: turning
  metrics::Totals last_totals_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace busyring::net
