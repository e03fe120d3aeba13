// Workspaces on a shard: a connection takes one from the pool when bytes arrive and gives it
// back as soon as it is idle again, so idle connections hold none. When none is free, the
// connection waits its turn (FIFO): its input stays parked in the receive buffers it arrived
// in, its receive is paused, and it is served when a workspace comes back. Nothing is refused
// and nothing is allocated; a busy pool costs waiting clients latency, not errors. Requests that
// hold a workspace too long while others wait are timed out early (shed_slow_requests).
#include "busyring/base/assert.h"
#include "busyring/base/log.h"
#include "busyring/net/shard.h"

namespace busyring::net {
namespace {

constexpr uint64_t kWaitLogIntervalNs = 10'000'000'000;  // "all workspaces busy": one line per 10 s

}  // namespace

// True when c has a workspace, maybe just given. None jumps the queue while others wait.
bool Shard::try_attach(Connection& c) noexcept {
  if (c.ws != nullptr) return true;
  if (wait_head_ != kNoSlot) return false;
  return attach_workspace(c);
}

bool Shard::attach_workspace(Connection& c) noexcept {
  const ConnectionTable::Attach r = conns_.attach(c);
  if (r == ConnectionTable::Attach::none) return false;
  if (r == ConnectionTable::Attach::framing_error) {
    c.request_start_ns = now_ns_;
    fail_input(c, api::ErrorId::malformed_http);
  }
  return true;
}

// Gives the workspace back once nothing needs it: no answer queued or being sent, no input
// kept, no request held for the log, and the parser between requests (or never fed again).
void Shard::maybe_detach(Connection& c) noexcept {
  if (c.ws == nullptr || c.send_in_flight || c.out_len != 0 || !c.queue.empty() || c.backlog_len != 0 ||
      c.held)
    return;
  if (c.parser.in_request() && !c.stop_reading) return;
  workspace_returned(c);
  conns_.detach(c);
}

// Its workspace goes back to the pool (detached, or the connection is released).
void Shard::workspace_returned(Connection& c) noexcept {
  if (!c.shed) return;
  BR_ASSERT(shedding_ > 0);
  c.shed = false;
  --shedding_;
}

// Bytes for a connection that found no workspace: keep the buffer they came in (in order),
// stop receiving, and wait. The receive ring bounds what can be parked.
void Shard::park_input(Connection& c, uint16_t bid, uint32_t len) noexcept {
  BR_ASSERT(c.ws == nullptr && bid < parked_next_.size());
  parked_next_[bid] = kNoBuffer;
  parked_len_[bid] = len;
  if (c.park_tail == kNoBuffer) c.park_head = bid;
  else parked_next_[c.park_tail] = bid;
  c.park_tail = bid;
  if (!c.ws_wait) wait_push(c);
  if (c.recv_armed) pause_recv(c);
  c.recv_paused = true;  // not re-armed until served (a receive already posted parks here too)
  timer_update(c);
}

// Before sleeping: hands workspaces freed this turn to the connections waiting longest.
void Shard::serve_waiters() noexcept {
  while (wait_head_ != kNoSlot) {
    Connection& c = conns_.at(wait_head_);
    BR_ASSERT(c.open && !c.closing && c.ws_wait);
    if (!attach_workspace(c)) break;
    wait_remove(c);
    replay_parked(c);
  }
}

// Parses a newly served connection's parked input, in arrival order, then reads on.
void Shard::replay_parked(Connection& c) noexcept {
  while (c.park_head != kNoBuffer) {
    const uint16_t bid = c.park_head;
    c.park_head = parked_next_[bid];
    if (c.park_head == kNoBuffer) c.park_tail = kNoBuffer;
    if (!c.closing) handle_input(c, buf_ring_.buffer(bid), parked_len_[bid]);
    buf_ring_.give_back(bid);
  }
  if (c.closing) return;  // (handle_input may have closed it: its slot may be free already)
  const bool eof = c.eof_parked;
  c.eof_parked = false;
  if (stopping_) {
    stop_connection(c);
  } else if (eof) {
    on_peer_eof(c);
  } else if (!c.stop_reading && c.backlog_len == 0) {
    resume_recv(c);  // with a backlog, drain_backlog resumes it
  }
  maybe_detach(c);
}

void Shard::wait_push(Connection& c) noexcept {
  BR_ASSERT(!c.ws_wait);
  if (wait_head_ == kNoSlot && (wait_logged_ns_ == 0 || now_ns_ - wait_logged_ns_ >= kWaitLogIntervalNs)) {
    BR_LOG_WARN("shard %u: all %u connection workspaces are busy; connections with new requests wait for one "
                "(backpressure)", setup_.index, conns_.workspaces().capacity());
    wait_logged_ns_ = now_ns_;
  }
  c.ws_wait = true;
  c.wait_prev = wait_tail_;
  c.wait_next = kNoSlot;
  if (wait_tail_ != kNoSlot) conns_.at(wait_tail_).wait_next = c.slot;
  else wait_head_ = c.slot;
  wait_tail_ = c.slot;
  ++waiting_;
}

void Shard::wait_remove(Connection& c) noexcept {
  BR_ASSERT(c.ws_wait && waiting_ > 0);
  if (c.wait_prev != kNoSlot) conns_.at(c.wait_prev).wait_next = c.wait_next;
  else wait_head_ = c.wait_next;
  if (c.wait_next != kNoSlot) conns_.at(c.wait_next).wait_prev = c.wait_prev;
  else wait_tail_ = c.wait_prev;
  c.ws_wait = false;
  c.wait_prev = c.wait_next = kNoSlot;
  --waiting_;
}

// Closing: leaves the wait list and gives its parked buffers back (its workspace, if any, goes
// back when the slot is released).
void Shard::drop_workspace_state(Connection& c) noexcept {
  if (c.ws_wait) wait_remove(c);
  while (c.park_head != kNoBuffer) {
    const uint16_t bid = c.park_head;
    c.park_head = parked_next_[bid];
    buf_ring_.give_back(bid);
  }
  c.park_tail = kNoBuffer;
  c.eof_parked = false;
}

}  // namespace busyring::net
