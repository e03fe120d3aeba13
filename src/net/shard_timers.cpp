// Per-shard timeouts without a timer per connection: three FIFO lists (idle, request, linger),
// each with one fixed duration, so each list is ordered by deadline and expiry only looks at
// the heads. The loop wakes at least every 100 ms to check them.
#include "busyring/base/assert.h"
#include "busyring/net/shard.h"

namespace busyring::net {

void Shard::timer_clear(Connection& c) noexcept {
  if (c.timer == TimerList::none) return;
  const auto list = static_cast<size_t>(c.timer);
  if (c.timer_prev != kNoSlot) conns_.at(c.timer_prev).timer_next = c.timer_next;
  else timer_head_[list] = c.timer_next;
  if (c.timer_next != kNoSlot) conns_.at(c.timer_next).timer_prev = c.timer_prev;
  else timer_tail_[list] = c.timer_prev;
  c.timer = TimerList::none;
  c.timer_prev = c.timer_next = kNoSlot;
}

void Shard::timer_set(Connection& c, TimerList list, uint64_t deadline_ns) noexcept {
  timer_clear(c);
  const auto l = static_cast<size_t>(list);
  c.timer = list;
  c.deadline_ns = deadline_ns;
  c.timer_prev = timer_tail_[l];
  c.timer_next = kNoSlot;
  if (timer_tail_[l] != kNoSlot) conns_.at(timer_tail_[l]).timer_next = c.slot;
  else timer_head_[l] = c.slot;
  timer_tail_[l] = c.slot;
}

// Puts the connection on the list its state calls for: a started request has until its
// request deadline (not refreshed by each byte: slowloris); otherwise the idle deadline runs
// from the last progress (bytes in, a send completed), which also closes a client that stops
// reading its answers (its sends stall, and it is no longer read once its pipeline is full).
void Shard::timer_update(Connection& c) noexcept {
  if (c.closing || c.draining) return;
  if (c.parser.in_request() && !c.stop_reading) {
    if (c.timer != TimerList::request)
      timer_set(c, TimerList::request, c.request_start_ns + config_.request_timeout_ms * 1'000'000ull);
    return;
  }
  timer_set(c, TimerList::idle, now_ns_ + config_.idle_timeout_ms * 1'000'000ull);
}

void Shard::expire_timers() noexcept {
  for (size_t l = 1; l < static_cast<size_t>(TimerList::count); ++l) {
    while (timer_head_[l] != kNoSlot) {
      Connection& c = conns_.at(timer_head_[l]);
      if (c.deadline_ns > now_ns_) break;
      const TimerList list = c.timer;
      timer_clear(c);
      if (list == TimerList::request) time_out_request(c);
      else begin_close(c);  // idle or lingering
    }
  }
}

// A started request out of time: 408 and close, or only close when answers are pending before it.
void Shard::time_out_request(Connection& c) noexcept {
  if (c.ws != nullptr && c.queue.empty() && !c.send_in_flight && c.out_len == 0) {
    http::Pending p = api::Handler::error_pending(api::ErrorId::request_timeout);
    p.keep_alive = false;
    p.start_ns = c.request_start_ns;
    enqueue(c, p, false, 0);
    stop_input(c, true);
  } else {
    begin_close(c);
  }
}

// Under pressure (connections wait for a workspace and none is free), the requests in progress
// longest give way once they are older than a tenth of --request-timeout, one for each waiter
// (counting those already timed out whose workspace is not back yet): a client trickling its
// request (slowloris) cannot keep the pool from those behind it. The request list is in order
// of start, so only its head is looked at.
void Shard::shed_slow_requests() noexcept {
  const auto l = static_cast<size_t>(TimerList::request);
  const uint64_t grace_ns = config_.request_timeout_ms * 100'000ull;  // ms * 1e6 / 10
  while (shedding_ < waiting_ && timer_head_[l] != kNoSlot) {
    Connection& c = conns_.at(timer_head_[l]);
    if (c.request_start_ns + grace_ns > now_ns_) break;
    timer_clear(c);
    BR_ASSERT(!c.shed && c.ws != nullptr);
    c.shed = true;
    ++shedding_;
    time_out_request(c);
  }
}

}  // namespace busyring::net
