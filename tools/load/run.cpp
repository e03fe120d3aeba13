// run_load: threads and their hand-over. Each worker thread builds its Worker (first touch on
// its own core), connects, then meets the others at a barrier whose completion fixes the
// common start time. The main thread only sleeps and prints the live line until they finish.
#include "run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "busyring/base/clock.h"
#include "report.h"
#include "worker.h"

namespace busyring::load {
namespace {

// SIGINT/SIGTERM end the load early (then the summary); a second one kills (SA_RESETHAND).
std::atomic<bool> interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);  // async-signal-safe to store

void on_signal(int) { interrupted.store(true, std::memory_order_relaxed); }

void catch_signals() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

// What a worker hands back before it is destroyed on its own thread.
struct WorkerResult {
  Stats stats;
  Histogram histogram;
  uint64_t stop_ns = 0;
  int ids_error = 0;
};

double seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

struct Shared {
  std::unique_ptr<Progress[]> progress;
  std::atomic<uint64_t> start_ns{0};
  std::atomic<int> setup_error{0};
  std::atomic<uint32_t> finished{0};
};

// One line per second on a terminal: elapsed/total, achieved rate, errors, running p99
// (with several threads, the worst thread's p99).
void show_live(const Options& o, Shared& shared) {
  using namespace std::chrono_literals;
  uint64_t last_responses = 0;
  uint64_t last_ns = 0;
  uint64_t next_s = 1;
  while (shared.finished.load() < o.threads) {
    std::this_thread::sleep_for(20ms);
    const uint64_t start = shared.start_ns.load();
    if (last_ns == 0) last_ns = start;
    const uint64_t now = base::monotonic_ns();
    if (start == 0 || now < start + next_s * 1'000'000'000u) continue;
    uint64_t responses = 0;
    uint64_t errors = 0;
    uint64_t p99 = 0;
    for (uint32_t t = 0; t < o.threads; t++) {
      responses += shared.progress[t].responses.load(std::memory_order_relaxed);
      errors += shared.progress[t].errors.load(std::memory_order_relaxed);
      p99 = std::max(p99, shared.progress[t].p99_ns.load(std::memory_order_relaxed));
    }
    // Workers publish every 10 ms: the rate is over the time actually elapsed.
    const double rate = static_cast<double>(responses - last_responses) * 1e9 /
                        static_cast<double>(now - last_ns);
    std::printf("\r\x1b[K  %llu/%.0f s  %.0f req/s  errors %llu  p99 %.1f us",
                static_cast<unsigned long long>(next_s), o.duration_s, rate,
                static_cast<unsigned long long>(errors), static_cast<double>(p99) / 1000.0);
    std::fflush(stdout);
    last_responses = responses;
    last_ns = now;
    next_s++;
  }
  if (next_s > 1) std::printf("\n");
}

WorkerPlan plan_for(const Options& o, const Target& target, uint32_t t, int ids_fd, bool live) {
  WorkerPlan plan;
  const uint32_t base = o.connections / o.threads;
  const uint32_t extra = o.connections % o.threads;
  plan.target = &target;
  plan.connections = base + (t < extra ? 1 : 0);
  plan.first_connection = t * base + std::min(t, extra);
  plan.total_connections = o.connections;
  plan.rate = o.rate;
  plan.pipeline = o.pipeline;
  plan.duration_ns = static_cast<uint64_t>(o.duration_s * 1e9);
  plan.timeout_ns = static_cast<uint64_t>(o.timeout_s * 1e9);
  plan.batch_ns = static_cast<uint64_t>(o.batch_us * 1e3);
  plan.ids_fd = ids_fd;
  plan.live = live;
  plan.interrupted = &interrupted;
  return plan;
}

struct Outputs {
  int ids_fd = -1;
  std::FILE* hist = nullptr;
};

// Opens --ids-out and --hist-out before the load, so that a bad path costs no run.
bool open_outputs(const Options& o, Outputs* out) {
  if (!o.ids_out.empty()) {
    out->ids_fd =
        ::open(o.ids_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (out->ids_fd < 0) {
      std::fprintf(stderr, "busyring-load: cannot open --ids-out %s: %s\n", o.ids_out.c_str(),
                   std::strerror(errno));
      return false;
    }
  }
  if (!o.hist_out.empty() && (out->hist = std::fopen(o.hist_out.c_str(), "w")) == nullptr) {
    std::fprintf(stderr, "busyring-load: cannot open --hist-out %s: %s\n", o.hist_out.c_str(),
                 std::strerror(errno));
    if (out->ids_fd >= 0) ::close(out->ids_fd);
    return false;
  }
  return true;
}

// Runs every worker on its own thread; 0, or the -errno of a failed ring setup.
int run_workers(const Options& o, const Target& target, int ids_fd,
                std::vector<WorkerResult>* results, uint64_t* start_ns) {
  const bool live = isatty(STDOUT_FILENO) != 0;
  Shared shared;
  shared.progress.reset(new Progress[o.threads]);
  auto fix_start = [&shared]() noexcept { shared.start_ns.store(base::monotonic_ns()); };
  std::barrier gate(static_cast<std::ptrdiff_t>(o.threads), fix_start);
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < o.threads; t++) {
    threads.emplace_back([&, t] {
      auto worker = std::make_unique<Worker>(plan_for(o, target, t, ids_fd, live),
                                             &shared.progress[t]);
      const int rc = worker->setup();
      if (rc < 0) {
        shared.setup_error.store(rc);
      } else {
        worker->warm_up();
      }
      gate.arrive_and_wait();
      if (shared.setup_error.load() == 0) {
        worker->run(shared.start_ns.load());
        WorkerResult& r = (*results)[t];
        r.stats = worker->stats();
        r.histogram = worker->histogram();
        r.stop_ns = worker->stop_ns();
        r.ids_error = worker->ids_error();
      }
      worker.reset();  // the ring and sockets close on the thread that owns them
      shared.finished.fetch_add(1);
    });
  }
  if (live) show_live(o, shared);
  for (std::thread& thread : threads) thread.join();
  *start_ns = shared.start_ns.load();
  return shared.setup_error.load();
}

// Flushes and closes the outputs; 0, or 1 if any of them could not be written.
int close_outputs(const Options& o, const Outputs& out, const Histogram& histogram,
                  int ids_error) {
  int status = 0;
  if (out.ids_fd >= 0 && (ids_error != 0 || ::close(out.ids_fd) != 0)) {
    std::fprintf(stderr, "busyring-load: writing --ids-out %s failed: %s\n", o.ids_out.c_str(),
                 std::strerror(ids_error != 0 ? -ids_error : errno));
    status = 1;
  }
  if (out.hist != nullptr) {
    const int rc = histogram.write_spectrum(out.hist, 1000.0);
    if (std::fclose(out.hist) != 0 || rc != 0) {
      std::fprintf(stderr, "busyring-load: writing --hist-out %s failed\n", o.hist_out.c_str());
      status = 1;
    }
  }
  return status;
}

}  // namespace

int run_load(const Options& o) {
  Target target;
  std::string error;
  if (!load_target(o, &target, &error)) {
    std::fprintf(stderr, "busyring-load: %s\n", error.c_str());
    return 1;
  }
  Outputs outputs;
  if (!open_outputs(o, &outputs)) return 1;
  catch_signals();
  std::vector<WorkerResult> results(o.threads);
  uint64_t start_ns = 0;
  const int rc = run_workers(o, target, outputs.ids_fd, &results, &start_ns);
  if (rc < 0) {
    std::fprintf(stderr, "busyring-load: cannot set up io_uring: %s\n", std::strerror(-rc));
    return 1;
  }
  RunResult result;
  int ids_error = 0;
  uint64_t stop_ns = start_ns;
  for (const WorkerResult& r : results) {
    result.stats.merge(r.stats);
    result.histogram.merge(r.histogram);
    if (ids_error == 0) ids_error = r.ids_error;
    stop_ns = std::max(stop_ns, r.stop_ns);
  }
  result.duration_s = static_cast<double>(stop_ns - start_ns) / 1e9;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  result.cpu_user_s = seconds(usage.ru_utime);
  result.cpu_sys_s = seconds(usage.ru_stime);
  if (o.json) {
    print_json(stdout, o, result);
  } else {
    print_text(stdout, o, result);
  }
  return close_outputs(o, outputs, result.histogram, ids_error);
}

}  // namespace busyring::load
