// Shard threads, start-up barrier, and the signal wait.
#include "busyring/net/server.h"

#include <cerrno>
#include <csignal>
#include <latch>
#include <memory>
#include <string>
#include <thread>

#include "busyring/base/clock.h"
#include "busyring/base/log.h"
#include "busyring/base/sd_notify.h"
#include "busyring/metrics/totals.h"
#include "service_watch.h"
#include "shard.h"

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

// The address of "[::]:3000" or "0.0.0.0:3000" ("::", "0.0.0.0"): what the sockets are bound
// to, which is not --bind where a kernel without IPv6 made "::" fall back to 0.0.0.0.
std::string bound_address(const std::string& where) {
  const std::string host = where.substr(0, where.rfind(':'));
  return host.size() >= 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
}

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

// SIGHUP with --auth-token-file: the file is read again and every shard moves to the new set
// at its next loop turn; a file that cannot be used leaves the old set in place. One line
// either way, naming the file and the count, never a token.
void reload_tokens(SharedTokens& tokens, const std::vector<std::unique_ptr<Shard>>& shards) {
  const size_t before = tokens.size();
  auto reloaded = tokens.reload([&shards] {
    for (const auto& s : shards) s->wake();
  });
  if (reloaded)
    BR_LOG_INFO("auth: --auth-token-file %s reloaded: %zu tokens accepted (were %zu)", tokens.path().c_str(),
                reloaded.value(), before);
  else
    BR_LOG_ERROR("auth: %s; keeping the %zu tokens loaded before (fix the file and send SIGHUP again)",
                 reloaded.error().c_str(), before);
}

// The startup lines, once every shard accepts; "listening on" last: scripts and tests wait for
// it as the sign that everything accepts.
void announce_ready(const ServerPlan& plan, const std::string& ring_mode) {
  BR_LOG_INFO("%s, io_uring %s", plan.banner.c_str(), ring_mode.c_str());
  // Worded without "listening on", so that line stays the public port's.
  if (!plan.admin_where.empty())
    BR_LOG_INFO("admin listener on %s: /metrics, /status and /healthz, no token asked (keep it private)",
                plan.admin_where.c_str());
  const std::string bound = bound_address(plan.listen_where);
  base::log_with(base::Level::info, {{"bind", bound}, {"port", uint64_t{plan.port}}}, "listening on %s",
                 plan.listen_where.c_str());
}

}  // namespace

void block_stop_signals() noexcept {
  const sigset_t set = waited_signals();
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
  shared.log_size = plan.log_size;
  shared.export_lag = plan.export_lag;
  shared.all_metrics = all_metrics;
  shared.shard_count = plan.shards.size();
  shared.tokens = plan.tokens.get();
  const size_t n = plan.shards.size();

  std::vector<std::unique_ptr<Shard>> shards;
  for (auto& setup : plan.shards) shards.push_back(std::make_unique<Shard>(shared, std::move(setup)));
  if (plan.tokens) {
    auto before = std::move(plan.on_reload);
    plan.on_reload = [&shards, &plan, before = std::move(before)] {
      if (before) before();
      reload_tokens(*plan.tokens, shards);
    };
  }
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
  announce_ready(plan, shards[0]->ring_mode());
  ServiceWatch watch(all_metrics, n, base::watchdog_usec());
  watch.start(plan.listen_where);

  const int sig = wait_for_stop(config, plan, all_metrics, n);
  BR_LOG_INFO("%s: stopping (answering and flushing what was received)", signal_name(sig));
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
