// Progress lines and the periodic reporter (see progress.h).
#include "busyring/base/progress.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "busyring/base/clock.h"
#include "busyring/base/log.h"
#include "busyring/base/sd_notify.h"

namespace busyring::base {
namespace {

// "about 40 s left", "about 3 min left", "about 2 h 05 min left".
int format_left(char* out, size_t cap, double seconds) {
  if (seconds < 90) return std::snprintf(out, cap, "about %.0f s left", seconds < 1 ? 1.0 : seconds);
  if (seconds < 5400) return std::snprintf(out, cap, "about %.0f min left", seconds / 60);
  const auto minutes = static_cast<unsigned long long>(seconds / 60);
  return std::snprintf(out, cap, "about %llu h %02llu min left", minutes / 60, minutes % 60);
}

}  // namespace

size_t format_progress(char* out, size_t cap, uint64_t done, uint64_t total, uint64_t elapsed_ns,
                       ProgressUnit unit) noexcept {
  if (cap == 0) return 0;
  const double secs = static_cast<double>(elapsed_ns) / 1e9;
  const unsigned percent = total == 0 ? 100 : static_cast<unsigned>(done >= total ? 100 : done * 100 / total);
  char amount[96];
  char rate[48] = "";
  if (unit == ProgressUnit::bytes) {
    const bool gib = total >= (10ull << 30);
    const double scale = gib ? 1073741824.0 : 1048576.0;
    const char* name = gib ? "GiB" : "MiB";
    std::snprintf(amount, sizeof amount, "%.1f of %.1f %s (%u%%)", static_cast<double>(done) / scale,
                  static_cast<double>(total) / scale, name, percent);
    if (done > 0 && secs > 0)
      std::snprintf(rate, sizeof rate, ", %.1f MiB/s", static_cast<double>(done) / 1048576.0 / secs);
  } else {
    std::snprintf(amount, sizeof amount, "%llu of %llu records (%u%%)", static_cast<unsigned long long>(done),
                  static_cast<unsigned long long>(total), percent);
    if (done > 0 && secs > 0) std::snprintf(rate, sizeof rate, ", %.0f records/s", static_cast<double>(done) / secs);
  }
  char left[48] = "";
  if (done > 0 && secs > 0 && done < total) {
    left[0] = ',';
    left[1] = ' ';
    format_left(left + 2, sizeof left - 2, static_cast<double>(total - done) * secs / static_cast<double>(done));
  }
  const int n = std::snprintf(out, cap, "%s%s%s", amount, rate, left);
  if (n < 0) return 0;
  return static_cast<size_t>(n) < cap ? static_cast<size_t>(n) : cap - 1;
}

ProgressReporter::ProgressReporter(const char* what, const std::atomic<uint64_t>& done, uint64_t total,
                                   ProgressUnit unit, uint64_t period_ns, Emit emit)
    : what_(what), done_(done), total_(total), unit_(unit), period_ns_(period_ns), emit_(std::move(emit)),
      start_ns_(monotonic_ns()) {
  if (!emit_) {
    const uint64_t extend_usec = 3 * period_ns_ / 1000;
    emit_ = [extend_usec](std::string_view line, ProgressReport kind) {
      const int len = static_cast<int>(line.size());
      if (kind != ProgressReport::start) BR_LOG_INFO("%.*s", len, line.data());
      if (kind == ProgressReport::advanced)
        notifyf("STATUS=%.*s\nEXTEND_TIMEOUT_USEC=%llu", len, line.data(),
                static_cast<unsigned long long>(extend_usec));
      else
        notifyf("STATUS=%.*s", len, line.data());
    };
  }
  report(true);
  thread_ = std::thread([this] { run(); });
}

ProgressReporter::~ProgressReporter() { stop(); }

void ProgressReporter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressReporter::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::nanoseconds(period_ns_), [this] { return stopping_; })) report(false);
}

void ProgressReporter::report(bool first) {
  const uint64_t done = done_.load(std::memory_order_relaxed);
  char progress[256];
  format_progress(progress, sizeof progress, done, total_, monotonic_ns() - start_ns_, unit_);
  char line[320];
  const int n = std::snprintf(line, sizeof line, "%s: %s", what_, progress);
  const ProgressReport kind = first               ? ProgressReport::start
                              : done != last_done_ ? ProgressReport::advanced
                                                   : ProgressReport::stalled;
  last_done_ = done;
  emit_({line, n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof line - 1)}, kind);
}

}  // namespace busyring::base
