// ProgressLine and log_bytes (see progress.h).
#include "progress.h"

#include <unistd.h>

#include "busyring/base/clock.h"
#include "busyring/storage/segment.h"

namespace busyring::logtool {
namespace {

constexpr uint64_t kRedrawNs = 250'000'000;
constexpr const char* kClearLine = "\r\033[K";

}  // namespace

ProgressLine::ProgressLine(std::FILE* out, std::FILE* err, const char* what, uint64_t total,
                           base::ProgressUnit unit)
    : ProgressLine(out, err, what, total, unit, fileno(err) >= 0 && isatty(fileno(err)) == 1) {}

ProgressLine::ProgressLine(std::FILE* out, std::FILE* err, const char* what, uint64_t total,
                           base::ProgressUnit unit, bool terminal)
    : out_(out), err_(err), terminal_(terminal), what_(what), total_(total), unit_(unit),
      start_ns_(base::monotonic_ns()) {}

void ProgressLine::advance(uint64_t n) {
  done_ += n;
  if (!terminal_ || finished_) return;
  const uint64_t now = base::monotonic_ns();
  if (drawn_ns_ != 0 && now - drawn_ns_ < kRedrawNs) return;
  drawn_ns_ = now;
  draw();
}

void ProgressLine::restart(const char* what, uint64_t total, base::ProgressUnit unit) {
  what_ = what;
  total_ = total;
  unit_ = unit;
  done_ = 0;
  start_ns_ = base::monotonic_ns();
  drawn_ns_ = 0;
}

void ProgressLine::draw() {
  if (!drawn_) std::fflush(out_);  // what was printed meanwhile goes above the line
  char text[256];
  base::format_progress(text, sizeof text, done_, total_, base::monotonic_ns() - start_ns_, unit_);
  std::fprintf(err_, "%s%s: %s", kClearLine, what_, text);
  std::fflush(err_);
  drawn_ = true;
}

void ProgressLine::interrupt() {
  if (!drawn_) return;
  std::fputs(kClearLine, err_);
  std::fflush(err_);
  drawn_ = false;
}

void ProgressLine::finish() {
  if (finished_) return;
  interrupt();
  finished_ = true;
}

uint64_t log_bytes(const std::vector<std::string>& data_dirs) {
  uint64_t total = 0;
  for (const std::string& dir : data_dirs) {
    auto log = open_log(dir);
    if (!log) continue;
    for (const ShardLog& shard : log.value()) {
      for (const uint32_t index : shard.segments) {
        // A compacted segment is read as the segment it was; one that vanished counts 0.
        if (auto bytes = storage::segment_read_bytes(shard.dir, index)) total += bytes.value();
      }
    }
  }
  return total;
}

}  // namespace busyring::logtool
