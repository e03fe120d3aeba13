// Shard threads, start-up barrier, and the signal wait.
#include "busyring/net/server.h"

#include <cerrno>
#include <csignal>
#include <latch>
#include <memory>
#include <thread>

#include "busyring/base/clock.h"
#include "busyring/base/log.h"
#include "shard.h"

namespace busyring::net {

namespace {

// --log-interval: one line per interval from the shards' counters (relaxed reads, summed).
class IntervalLog {
 public:
  IntervalLog(const metrics::ShardMetrics* const* shards, size_t n) : shards_(shards), n_(n) { take(prev_); }
  void log_line() {
    Snapshot now;
    take(now);
    const double secs = static_cast<double>(now.at_ns - prev_.at_ns) / 1e9;
    const uint64_t requests = now.requests - prev_.requests;
    const uint64_t records = now.records - prev_.records;
    const uint64_t flushes = now.flushes - prev_.flushes;
    // p99 from the latency histogram's bucket deltas: the bound of the bucket holding it.
    uint64_t count = 0;
    for (size_t b = 0; b < metrics::kLatencyBuckets; ++b) count += now.buckets[b] - prev_.buckets[b];
    uint64_t seen = 0;
    double p99_ms = 0;
    for (size_t b = 0; b < metrics::kLatencyBuckets && count > 0; ++b) {
      seen += now.buckets[b] - prev_.buckets[b];
      if (seen * 100 >= count * 99) {
        p99_ms = b + 1 < metrics::kLatencyBuckets ? static_cast<double>(metrics::kLatencyBoundsUs[b]) / 1000.0 : -1;
        break;
      }
    }
    BR_LOG_INFO("%.0f req/s, %.0f records/s, p99 <= %s%.2f ms, %.1f records per flush, %llu connections",
                static_cast<double>(requests) / secs, static_cast<double>(records) / secs,
                p99_ms < 0 ? ">" : "", p99_ms < 0 ? 1000.0 : p99_ms,
                flushes > 0 ? static_cast<double>(records) / static_cast<double>(flushes) : 0.0,
                static_cast<unsigned long long>(now.connections));
    prev_ = now;
  }

 private:
  struct Snapshot {
    uint64_t at_ns = 0, requests = 0, records = 0, flushes = 0, connections = 0;
    uint64_t buckets[metrics::kLatencyBuckets] = {};
  };
  void take(Snapshot& s) {
    s = Snapshot{};
    s.at_ns = base::monotonic_ns();
    for (size_t i = 0; i < n_; ++i) {
      const metrics::ShardMetrics& m = *shards_[i];
      for (const auto& route : m.requests)
        for (const auto& c : route) s.requests += metrics::read(c);
      s.records += metrics::read(m.records_written);
      s.flushes += metrics::read(m.flushes);
      s.connections += metrics::read(m.connections_open);
      for (size_t b = 0; b < metrics::kLatencyBuckets; ++b) s.buckets[b] += metrics::read(m.latency_buckets[b]);
    }
  }
  const metrics::ShardMetrics* const* shards_;
  size_t n_;
  Snapshot prev_;
};

sigset_t waited_signals() noexcept {
  sigset_t set;
  sigemptyset(&set);
  for (const int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP}) sigaddset(&set, sig);
  return set;
}

const char* signal_name(int sig) noexcept {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGHUP: return "SIGHUP";
    default: return "signal";
  }
}

// Waits for SIGTERM, SIGINT or SIGQUIT (returned); a SIGHUP runs the reload hook and the wait
// goes on; with --log-interval, a rate line is logged at each interval meanwhile.
int wait_for_stop(const config::Config& config, const ServerPlan& plan, const metrics::ShardMetrics* const* all_metrics,
                  size_t n) {
  const sigset_t set = waited_signals();
  std::unique_ptr<IntervalLog> interval;
  if (config.log_interval_ms > 0) interval = std::make_unique<IntervalLog>(all_metrics, n);
  const timespec every{static_cast<time_t>(config.log_interval_ms / 1000),
                       static_cast<long>(config.log_interval_ms % 1000) * 1'000'000L};
  for (;;) {
    const int sig = interval ? sigtimedwait(&set, nullptr, &every) : sigwaitinfo(&set, nullptr);
    if (sig < 0) {
      if (errno == EAGAIN && interval) interval->log_line();
      continue;  // EINTR: a signal we do not wait for (none is unblocked but SIGPIPE, ignored)
    }
    if (sig != SIGHUP) return sig;
    if (plan.on_reload) {
      BR_LOG_INFO("SIGHUP: reloading; the server keeps serving");
      plan.on_reload();
    } else {
      BR_LOG_INFO("SIGHUP: nothing to reload; the server keeps serving (SIGTERM, SIGINT or SIGQUIT stop it)");
    }
  }
}

}  // namespace

void block_stop_signals() noexcept {
  const sigset_t set = waited_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int run_server(const config::Config& config, ids::BlockSource& source, ServerPlan plan,
               const metrics::ShardMetrics* const* all_metrics) {
  SharedState shared;
  shared.config = &config;
  shared.block_source = &source;
  shared.log_size = plan.log_size;
  shared.all_metrics = all_metrics;
  shared.shard_count = plan.shards.size();
  const size_t n = plan.shards.size();

  std::vector<std::unique_ptr<Shard>> shards;
  for (auto& setup : plan.shards) shards.push_back(std::make_unique<Shard>(shared, std::move(setup)));
  std::vector<std::string> errors(n);
  std::vector<char> clean(n, 0);
  std::latch ready(static_cast<std::ptrdiff_t>(n));
  std::latch go(1);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      if (auto st = shards[i]->start(); !st) errors[i] = st.error();
      ready.count_down();
      go.wait();
      if (!errors[i].empty() || shared.stop.load()) return;
      clean[i] = shards[i]->run() ? 1 : 0;
    });
  }
  ready.wait();
  for (size_t i = 0; i < n; ++i) {
    if (errors[i].empty()) continue;
    base::print_fatal("%s", errors[i].c_str());
    shared.stop.store(true);
    go.count_down();
    for (auto& t : threads) t.join();
    return 1;
  }
  go.count_down();
  BR_LOG_INFO("%s, io_uring %s", plan.banner.c_str(), shards[0]->ring_mode().c_str());
  BR_LOG_INFO("listening on %s", plan.listen_where.c_str());

  const int sig = wait_for_stop(config, plan, all_metrics, n);
  BR_LOG_INFO("%s: stopping (answering and flushing what was received)", signal_name(sig));
  shared.stop.store(true);
  for (auto& s : shards) s->wake();
  for (auto& t : threads) t.join();
  bool all_clean = true;
  for (size_t i = 0; i < n; ++i) all_clean = all_clean && clean[i];
  BR_LOG_INFO("stopped%s", all_clean ? "" : " (some connections were cut at the grace deadline)");
  return 0;
}

}  // namespace busyring::net
