// Shard threads, start-up barrier, and the signal wait.
#include "busyring/net/server.h"

#include <csignal>
#include <latch>
#include <memory>
#include <thread>

#include "busyring/base/clock.h"
#include "busyring/base/log.h"
#include "busyring/base/sd_notify.h"
#include "busyring/metrics/totals.h"
#include "busyring/net/service_watch.h"

namespace busyring::net {

namespace {

// --log-interval: one line per interval from the shards' counters (relaxed reads, summed).
class IntervalLog {
 public:
  IntervalLog(const metrics::ShardMetrics* const* shards, size_t n)
      : shards_(shards), n_(n), prev_(metrics::take_totals(shards, n, base::monotonic_ns())) {}
  void log_line() {
    const metrics::Totals now = metrics::take_totals(shards_, n_, base::monotonic_ns());
    const metrics::Rates r = metrics::rates_between(prev_, now);
    const auto whole = [](double v) { return static_cast<uint64_t>(v + 0.5); };
    base::log_with(base::Level::info,
                   {{"requests_per_second", whole(r.requests_per_s)},
                    {"records_per_second", whole(r.records_per_s)},
                    {"connections", now.connections}},
                   "%.0f req/s, %.0f records/s, p99 <= %s%.2f ms, %.1f records per flush, %llu connections",
                   r.requests_per_s, r.records_per_s, r.p99_ms < 0 ? ">" : "", r.p99_ms < 0 ? 1000.0 : r.p99_ms,
                   r.records_per_flush, static_cast<unsigned long long>(now.connections));
    prev_ = now;
  }

 private:
  const metrics::ShardMetrics* const* shards_;
  size_t n_;
  metrics::Totals prev_;
};

}  // namespace

void block_stop_signals() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int run_server(const config::Config& config, ids::BlockSource& source, ServerPlan plan,
               const metrics::ShardMetrics* const* all_metrics) {
  if (const std::string problem = watchdog_problem(base::watchdog_usec()); !problem.empty()) {
    base::print_fatal("%s", problem.c_str());
    return 1;
  }
  SharedState shared;
  shared.config = &config;
  shared.block_source = &source;
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
      errors[i] = shards[i]->start();
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
  base::log_with(base::Level::info, {{"bind", config.bind}, {"port", uint64_t{plan.port}}}, "listening on %s:%u",
                 config.bind.c_str(), plan.port);
  ServiceWatch watch(all_metrics, n, base::watchdog_usec());
  watch.start(config.bind + ":" + std::to_string(plan.port));

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  if (config.log_interval_ms == 0) {
    sigwait(&set, &sig);
  } else {
    IntervalLog interval(all_metrics, n);
    const timespec wait{static_cast<time_t>(config.log_interval_ms / 1000),
                        static_cast<long>(config.log_interval_ms % 1000) * 1'000'000L};
    while ((sig = sigtimedwait(&set, nullptr, &wait)) < 0) interval.log_line();
  }
  BR_LOG_INFO("%s: stopping (answering and flushing what was received)", sig == SIGINT ? "SIGINT" : "SIGTERM");
  watch.stop("stopping: answering and flushing what was received");
  shared.stop.store(true);
  for (auto& s : shards) s->wake();
  for (auto& t : threads) t.join();
  bool all_clean = true;
  for (size_t i = 0; i < n; ++i) all_clean = all_clean && clean[i];
  BR_LOG_INFO("stopped%s", all_clean ? "" : " (some connections were cut at the grace deadline)");
  return 0;
}

}  // namespace busyring::net
