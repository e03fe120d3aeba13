// Progress of long work (start-up recovery, the log tool's verify/export/salvage): one line
// saying how much of how much is done, at what rate, and about how long is left; and a
// reporter thread that says it every few seconds while the work runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

namespace busyring::base {

enum class ProgressUnit : uint8_t { bytes, records };

// "312.0 of 1024.0 MiB (30%), 520.0 MiB/s, about 2 s left" (records: "1200 of 5000 records
// (24%), 800 records/s, about 5 s left"). No rate or time left before anything is done or
// before any time has passed. Returns the length written (cut to cap - 1, NUL-terminated).
size_t format_progress(char* out, size_t cap, uint64_t done, uint64_t total, uint64_t elapsed_ns,
                       ProgressUnit unit) noexcept;

// What a report says besides the line: the first one (where the work starts), or whether the
// work moved since the last.
enum class ProgressReport : uint8_t { start, advanced, stalled };

// At once (start), then every period on its own thread until stopped: emit(line, kind) with
// line = "<what>: <format_progress>". The default emit tells systemd STATUS=<line> each time
// and logs the periodic lines (info); while the work advances it also asks for
// EXTEND_TIMEOUT_USEC of three periods, so a long recovery keeps its start-up alive while a
// stuck one still runs into TimeoutStartSec.
class ProgressReporter {
 public:
  using Emit = std::function<void(std::string_view line, ProgressReport kind)>;
  static constexpr uint64_t kDefaultPeriodNs = 5'000'000'000;

  ProgressReporter(const char* what, const std::atomic<uint64_t>& done, uint64_t total, ProgressUnit unit,
                   uint64_t period_ns = kDefaultPeriodNs, Emit emit = {});
  ~ProgressReporter();  // stop()
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Ends the reports (idempotent); no report starts after it returns.
  void stop();

 private:
  void run();
  void report(bool first);

  const char* what_;
  const std::atomic<uint64_t>& done_;
  uint64_t total_;
  ProgressUnit unit_;
  uint64_t period_ns_;
  Emit emit_;
  uint64_t start_ns_;
  uint64_t last_done_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace busyring::base
