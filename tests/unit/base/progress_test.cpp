// base/progress: the progress text (done of total, rate, time left) and the periodic reporter
// (a first report at once, then one per period saying whether the work moved, none after stop).
#include "busyring/base/progress.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

using namespace busyring::base;

namespace {

std::string text(uint64_t done, uint64_t total, uint64_t elapsed_ns, ProgressUnit unit) {
  char buf[256];
  const size_t n = format_progress(buf, sizeof buf, done, total, elapsed_ns, unit);
  return std::string(buf, n);
}

}  // namespace

TEST_CASE("progress text: done of total, rate and time left", "[base]") {
  CHECK(text(0, 1024 << 20, 0, ProgressUnit::bytes) == "0.0 of 1024.0 MiB (0%)");
  CHECK(text(256 << 20, 1024 << 20, 2'000'000'000, ProgressUnit::bytes) ==
        "256.0 of 1024.0 MiB (25%), 128.0 MiB/s, about 6 s left");
  CHECK(text(1024 << 20, 1024 << 20, 4'000'000'000, ProgressUnit::bytes) == "1024.0 of 1024.0 MiB (100%), 256.0 MiB/s");
  CHECK(text(20ull << 30, 40ull << 30, 100'000'000'000, ProgressUnit::bytes) ==
        "20.0 of 40.0 GiB (50%), 204.8 MiB/s, about 2 min left");
  CHECK(text(1, 10000, 60'000'000'000, ProgressUnit::records) ==
        "1 of 10000 records (0%), 0 records/s, about 166 h 39 min left");
  CHECK(text(0, 0, 1, ProgressUnit::records) == "0 of 0 records (100%)");
  char small[8];
  CHECK(format_progress(small, sizeof small, 1, 2, 1, ProgressUnit::records) == 7);
  CHECK(std::string(small) == "1 of 2 ");
}

TEST_CASE("the reporter reports at once, then each period whether the work moved, and stops", "[base]") {
  std::atomic<uint64_t> done{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, ProgressReport>> seen;
  size_t moved = 0;  // the first report after `done` moved
  {
    ProgressReporter r("recovering", done, 100, ProgressUnit::records, 20'000'000,
                       [&](std::string_view line, ProgressReport kind) {
                         std::lock_guard<std::mutex> lock(mu);
                         seen.emplace_back(std::string(line), kind);
                         cv.notify_all();
                       });
    const auto wait_until = [&](auto done_waiting) {
      std::unique_lock<std::mutex> lock(mu);
      REQUIRE(cv.wait_for(lock, std::chrono::seconds(10), done_waiting));
    };
    wait_until([&] { return seen.size() >= 1; });
    done = 40;
    wait_until([&] {
      for (moved = 1; moved < seen.size(); ++moved)
        if (seen[moved].first.find(" 40 of ") != std::string::npos) return true;
      return false;
    });
    wait_until([&] { return seen.size() >= moved + 2; });
    r.stop();
  }
  const size_t after_stop = seen.size();
  CHECK(seen[0].first == "recovering: 0 of 100 records (0%)");
  CHECK(seen[0].second == ProgressReport::start);
  for (size_t i = 1; i < moved; ++i) CHECK(seen[i].second == ProgressReport::stalled);  // before it moved
  CHECK(seen[moved].first.rfind("recovering: 40 of 100 records (40%), ", 0) == 0);
  CHECK(seen[moved].second == ProgressReport::advanced);
  CHECK(seen[moved + 1].second == ProgressReport::stalled);  // nothing moved since
  CHECK(seen.size() == after_stop);
}
