// Pacer: the open-loop schedule and the in-flight window of intended send times.
// The window is a ring of `depth` entries, oldest at head_; replies arrive in request order
// (HTTP/1.1), so the oldest entry always belongs to the next reply.
#include "pacer.h"

#include <cmath>

#include "busyring/base/assert.h"

namespace busyring::load {

ScheduleSlot schedule_slot(uint32_t index, uint32_t connections, double rate) {
  BR_ASSERT(connections > 0);
  BR_ASSERT(index < connections);
  if (rate <= 0) return {};
  ScheduleSlot slot;
  slot.interval_ns = 1e9 * static_cast<double>(connections) / rate;
  slot.phase_ns = 1e9 * static_cast<double>(index) / rate;
  return slot;
}

void Pacer::init(uint64_t start_ns, ScheduleSlot slot, uint32_t depth, uint64_t early_ns) {
  BR_ASSERT(depth > 0);
  BR_ASSERT(slot.interval_ns >= 0);
  window_.reset(new InFlight[depth]);
  slot_ = slot;
  start_ns_ = start_ns;
  early_ns_ = early_ns;
  next_ = 0;
  issued_ = 0;
  depth_ = depth;
  head_ = 0;
  inflight_ = 0;
}

uint64_t Pacer::intended_ns(uint64_t k) const noexcept {
  const double offset = slot_.phase_ns + static_cast<double>(k) * slot_.interval_ns;
  return start_ns_ + static_cast<uint64_t>(offset);
}

uint32_t Pacer::issue_due(uint64_t now_ns, uint64_t stop_ns) noexcept {
  uint32_t issued = 0;
  while (inflight_ < depth_) {
    uint64_t intended = now_ns;
    if (open_loop()) {
      intended = intended_ns(next_);
      if (intended > now_ns + early_ns_ || intended >= stop_ns) break;
    } else if (now_ns >= stop_ns) {
      break;
    }
    uint32_t tail = head_ + inflight_;
    if (tail >= depth_) tail -= depth_;
    window_[tail] = InFlight{intended, now_ns};
    inflight_++;
    next_++;
    issued++;
  }
  issued_ += issued;
  return issued;
}

uint64_t Pacer::complete(uint64_t now_ns) noexcept {
  BR_ASSERT(inflight_ > 0);
  const InFlight& oldest = window_[head_];
  const uint64_t from = oldest.intended_ns < oldest.issue_ns ? oldest.intended_ns
                                                              : oldest.issue_ns;
  head_ = head_ + 1 == depth_ ? 0 : head_ + 1;
  inflight_--;
  return now_ns > from ? now_ns - from : 0;
}

uint32_t Pacer::drop_inflight() noexcept {
  const uint32_t dropped = inflight_;
  head_ = 0;
  inflight_ = 0;
  return dropped;
}

uint64_t Pacer::oldest_issue_ns() const noexcept {
  BR_ASSERT(inflight_ > 0);
  return window_[head_].issue_ns;
}

uint64_t Pacer::missed(uint64_t stop_ns) const noexcept {
  if (!open_loop() || intended_ns(next_) >= stop_ns) return 0;
  // Count the k >= next_ with intended_ns(k) < stop_ns: estimate, then fix float rounding.
  const double span = static_cast<double>(stop_ns - start_ns_) - slot_.phase_ns;
  uint64_t end = static_cast<uint64_t>(std::ceil(span / slot_.interval_ns));
  if (end < next_ + 1) end = next_ + 1;
  while (intended_ns(end) < stop_ns) end++;
  while (end > next_ + 1 && intended_ns(end - 1) >= stop_ns) end--;
  return end - next_;
}

}  // namespace busyring::load
