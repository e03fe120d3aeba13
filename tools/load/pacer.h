// Per-connection request pacing with coordinated-omission correction (wrk2's model).
// Open loop: request k of a connection is intended at start + phase + k * interval; it leaves
// once it is due AND the pipeline window has room, and its latency counts from its intended
// time, so a stalled reply charges every request queued behind it. Closed loop (interval 0):
// a request is intended the moment the window has room. The window is fixed at init().
#pragma once

#include <cstdint>
#include <memory>

namespace busyring::load {

// Where connection `index` of `connections` sits in an open-loop schedule of `rate` req/s:
// every connection runs at rate / connections, phases staggered so that the union of their
// schedules is evenly spaced at 1 / rate.
struct ScheduleSlot {
  double interval_ns = 0;  // 0: closed loop
  double phase_ns = 0;
};
[[nodiscard]] ScheduleSlot schedule_slot(uint32_t index, uint32_t connections, double rate);

class Pacer {
 public:
  // early_ns: a request intended at most this far ahead may leave now, with others (one
  // wake-up and one send for several requests); such a request is timed from when it left.
  void init(uint64_t start_ns, ScheduleSlot slot, uint32_t depth, uint64_t early_ns = 0);

  // Issues every request due by now_ns + early_ns that fits in the window; none intended at
  // or after stop_ns (closed loop: none once now_ns >= stop_ns). Returns how many.
  [[nodiscard]] uint32_t issue_due(uint64_t now_ns, uint64_t stop_ns) noexcept;
  // The oldest in-flight request got its reply at now_ns: returns its latency in ns, from
  // its intended time, or from when it left if that was earlier.
  [[nodiscard]] uint64_t complete(uint64_t now_ns) noexcept;
  // The connection was lost: forgets the in-flight requests (the schedule runs on) and
  // returns how many there were.
  uint32_t drop_inflight() noexcept;

  [[nodiscard]] bool open_loop() const noexcept { return slot_.interval_ns > 0; }
  [[nodiscard]] bool has_room() const noexcept { return inflight_ < depth_; }
  [[nodiscard]] uint32_t inflight() const noexcept { return inflight_; }
  [[nodiscard]] uint64_t issued() const noexcept { return issued_; }
  // Open loop: intended time of the next request to issue.
  [[nodiscard]] uint64_t next_due_ns() const noexcept { return intended_ns(next_); }
  // When the oldest in-flight request was issued (for timeouts); requires inflight() > 0.
  [[nodiscard]] uint64_t oldest_issue_ns() const noexcept;
  // Open loop: requests intended before stop_ns that were never issued.
  [[nodiscard]] uint64_t missed(uint64_t stop_ns) const noexcept;

 private:
  struct InFlight {
    uint64_t intended_ns;
    uint64_t issue_ns;
  };
  [[nodiscard]] uint64_t intended_ns(uint64_t k) const noexcept;

  std::unique_ptr<InFlight[]> window_;
  ScheduleSlot slot_;
  uint64_t start_ns_ = 0;
  uint64_t early_ns_ = 0;
  uint64_t next_ = 0;    // index of the next request in the schedule
  uint64_t issued_ = 0;  // requests issued, all time
  uint32_t depth_ = 0;
  uint32_t head_ = 0;  // oldest in-flight request in window_
  uint32_t inflight_ = 0;
};

}  // namespace busyring::load
