// The service watch's thread (see service_watch.h): heartbeat checks and watchdog pings every
// W/2, STATUS every kStatusPeriodNs, whichever comes first; nothing else.
#include "service_watch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "busyring/base/clock.h"
#include "busyring/base/log.h"
#include "busyring/base/sd_notify.h"

namespace busyring::net {

std::string watchdog_problem(uint64_t watchdog_usec) {
  if (watchdog_usec == 0 || watchdog_usec * 1000 >= 4 * kShardIdleTurnNs) return {};
  char line[256];
  std::snprintf(line, sizeof line,
                "WatchdogSec= is %llu ms, under the %llu ms busyring needs (its idle shards turn every %llu ms); "
                "raise WatchdogSec= in the unit",
                static_cast<unsigned long long>(watchdog_usec / 1000),
                static_cast<unsigned long long>(4 * kShardIdleTurnNs / 1'000'000),
                static_cast<unsigned long long>(kShardIdleTurnNs / 1'000'000));
  return line;
}

ServiceWatch::ServiceWatch(const metrics::ShardMetrics* const* shards, size_t n, uint64_t watchdog_usec)
    : shards_(shards), n_(n), watchdog_ns_(watchdog_usec * 1000), last_turns_(n), stalled_since_ns_(n, 0) {}

ServiceWatch::~ServiceWatch() { stop("stopping"); }

void ServiceWatch::start(const std::string& listening) {
  listening_ = listening;
  for (size_t i = 0; i < n_; ++i) last_turns_[i] = metrics::read(shards_[i]->loop_turns);
  last_totals_ = metrics::take_totals(shards_, n_, base::monotonic_ns());
  base::notifyf("READY=1\nSTATUS=serving on %s, %zu shards", listening_.c_str(), n_);
  if (watchdog_ns_ > 0)
    BR_LOG_DEBUG("systemd watchdog every %llu ms: pinged every %llu ms while every shard's loop turns",
                 static_cast<unsigned long long>(watchdog_ns_ / 1'000'000),
                 static_cast<unsigned long long>(watchdog_ns_ / 2'000'000));
  thread_ = std::thread([this] { run(); });
}

void ServiceWatch::stop(const char* why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  base::notifyf("STOPPING=1\nSTATUS=%s", why);
}

void ServiceWatch::run() {
  const uint64_t check_every = watchdog_ns_ > 0 ? watchdog_ns_ / 2 : kStatusPeriodNs;
  uint64_t next_check = base::monotonic_ns() + check_every;
  uint64_t next_status = base::monotonic_ns() + kStatusPeriodNs;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    const uint64_t now = base::monotonic_ns();
    const uint64_t next = std::min(next_check, next_status);
    if (next > now && cv_.wait_for(lock, std::chrono::nanoseconds(next - now), [this] { return stopping_; })) return;
    const uint64_t at = base::monotonic_ns();
    if (at >= next_check) {
      check_heartbeats();
      next_check += check_every;
      if (next_check <= at) next_check = at + check_every;  // this thread itself was held up
    }
    if (at >= next_status) {
      send_status();
      next_status = at + kStatusPeriodNs;
    }
  }
}

// Pings only when every shard turned since the last check; a shard that did not is logged once
// when it stalls and once when it turns again.
void ServiceWatch::check_heartbeats() {
  const uint64_t now = base::monotonic_ns();
  bool all_turned = true;
  for (size_t i = 0; i < n_; ++i) {
    const uint64_t turns = metrics::read(shards_[i]->loop_turns);
    if (turns != last_turns_[i]) {
      if (stalled_since_ns_[i] != 0)
        BR_LOG_WARN("shard %zu: its loop turns again after %.1f s", i,
                    static_cast<double>(now - stalled_since_ns_[i]) / 1e9);
      stalled_since_ns_[i] = 0;
      last_turns_[i] = turns;
      continue;
    }
    all_turned = false;
    if (stalled_since_ns_[i] == 0) {
      stalled_since_ns_[i] = now;
      BR_LOG_ERROR("shard %zu: its loop has not turned for over %llu ms (stuck in a blocking call?)%s", i,
                   static_cast<unsigned long long>((watchdog_ns_ > 0 ? watchdog_ns_ / 2 : kStatusPeriodNs) / 1'000'000),
                   watchdog_ns_ > 0 ? "; no watchdog ping until it does, so systemd restarts the service" : "");
    }
  }
  if (all_turned && watchdog_ns_ > 0) base::notify("WATCHDOG=1");
}

void ServiceWatch::send_status() {
  const metrics::Totals now = metrics::take_totals(shards_, n_, base::monotonic_ns());
  const metrics::Rates r = metrics::rates_between(last_totals_, now);
  last_totals_ = now;
  char p99[32] = "no POSTs";
  if (r.p99_ms > 0) std::snprintf(p99, sizeof p99, "POST p99 <= %.1f ms", r.p99_ms);
  if (r.p99_ms < 0) std::snprintf(p99, sizeof p99, "POST p99 > 1 s");
  base::notifyf("STATUS=serving on %s: %.0f req/s, %s, %llu connections, storage %s", listening_.c_str(),
                r.requests_per_s, p99, static_cast<unsigned long long>(now.connections),
                now.healthy_shards == n_ ? "ok" : "UNAVAILABLE on a shard");
}

}  // namespace busyring::net
