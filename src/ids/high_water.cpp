// The durable local counter; see high_water.h.
#include "high_water.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "busyring/base/fs.h"
#include "busyring/base/log.h"
#include "busyring/ids/held_ranges.h"

namespace busyring::ids {
namespace {

constexpr const char* kProblemWrite =
    "the id high water (DATA_DIR/id-ranges) cannot be written: ids come from what it covers, then 503 "
    "(see the server log)";

}  // namespace

HighWaterBlockSource::HighWaterBlockSource(std::string path, uint64_t first_id, uint64_t durable_end,
                                           uint32_t reserve_ids)
    : path_(std::move(path)),
      half_(std::max<uint64_t>(1, reserve_ids / 2)),
      low_water_(std::max<uint64_t>(1, reserve_ids - reserve_ids / 2)),
      next_(std::max<uint64_t>(1, first_id)),
      durable_end_(std::max<uint64_t>({1, first_id, durable_end})) {}

HighWaterBlockSource::~HighWaterBlockSource() { refill_.stop(); }

int HighWaterBlockSource::write_high_water(uint64_t end) {
  const std::string text = std::string(kLocalMarker) + "\n1 " + std::to_string(end) + "\n";
  return base::replace_file_durably(path_, text);
}

base::Status HighWaterBlockSource::start() {
  if (step() == RefillStep::failed)
    return base::Error{"cannot write " + path_ + " (the id high water: " + std::strerror(last_error_) +
                       "); check the data dir's free space and permissions"};
  if (auto st = refill_.open(); !st) return st;
  refill_.start([this] { return step(); });
  return base::ok_status();
}

IdRange HighWaterBlockSource::take(uint32_t count) noexcept {
  const uint64_t end = durable_end_.load(std::memory_order_acquire);
  uint64_t first = next_.load(std::memory_order_relaxed);
  IdRange got;
  while (first < end) {
    const uint64_t n = std::min<uint64_t>(count, end - first);
    if (next_.compare_exchange_weak(first, first + n, std::memory_order_relaxed)) {
      got = {first, first + n};
      break;
    }
  }
  const uint64_t used_to = got.empty() ? first : got.end;
  if (end - std::min(end, used_to) < low_water_) refill_.request();
  return got;
}

SourceStats HighWaterBlockSource::stats() const noexcept {
  SourceStats s;
  const uint64_t end = durable_end_.load(std::memory_order_relaxed);
  const uint64_t next = next_.load(std::memory_order_relaxed);
  s.up = !failing_.load(std::memory_order_relaxed);
  s.reserve_ids = end > next ? end - next : 0;
  if (!s.up) s.problem = kProblemWrite;
  return s;
}

// One write when the counter is within low_water_ of the durable end.
RefillStep HighWaterBlockSource::step() {
  const uint64_t end = durable_end_.load(std::memory_order_relaxed);
  const uint64_t next = next_.load(std::memory_order_relaxed);
  if (end > next && end - next >= low_water_) return RefillStep::idle;
  const uint64_t new_end = std::max(end, next) + half_;
  if (const int rc = write_high_water(new_end); rc < 0) {
    last_error_ = -rc;
    if (!failing_.exchange(true))
      BR_LOG_ERROR("id source: cannot write %s: %s; ids are issued up to %llu, then 503 until it can be written",
                   path_.c_str(), std::strerror(-rc), static_cast<unsigned long long>(end - 1));
    return RefillStep::failed;
  }
  if (failing_.exchange(false)) BR_LOG_INFO("id source: %s written again", path_.c_str());
  durable_end_.store(new_end, std::memory_order_release);
  return RefillStep::again;
}

}  // namespace busyring::ids
