// Workspaces lent to busy connections, and the FIFO of those waiting for one; see
// workspace_scheduler.h.
#include "workspace_scheduler.h"

#include "busyring/base/assert.h"
#include "busyring/base/log.h"

namespace busyring::net {
namespace {

constexpr uint64_t kWaitLogIntervalNs = 10'000'000'000;  // "all workspaces busy": one line per 10 s

}  // namespace

WorkspaceScheduler::WorkspaceScheduler(ConnectionTable& conns) noexcept : conns_(conns), wait_(LinksOf{&conns}) {}

void WorkspaceScheduler::init(uint32_t recv_buffers, uint32_t shard) noexcept {
  BR_ASSERT(recv_buffers <= kNoBuffer);
  next_.assign(recv_buffers, kNoBuffer);
  len_.assign(recv_buffers, 0);
  shard_ = shard;
}

ConnectionTable::Attach WorkspaceScheduler::attach(Connection& c) noexcept {
  BR_ASSERT(c.ws == nullptr && c.gate == InputGate::open);
  if (!wait_.empty()) return ConnectionTable::Attach::none;
  return conns_.attach(c);
}

void WorkspaceScheduler::park(Connection& c, uint16_t bid, uint32_t len, uint64_t now_ns) noexcept {
  BR_ASSERT(c.ws == nullptr && bid < next_.size());
  next_[bid] = kNoBuffer;
  len_[bid] = len;
  if (c.sched.parked_tail == kNoBuffer) c.sched.parked_head = bid;
  else next_[c.sched.parked_tail] = bid;
  c.sched.parked_tail = bid;
  if (c.gate == InputGate::parked) return;
  BR_ASSERT(c.gate == InputGate::open);
  if (wait_.empty() && (logged_ns_ == 0 || now_ns - logged_ns_ >= kWaitLogIntervalNs)) {
    BR_LOG_WARN("shard %u: all %u connection workspaces are busy; connections with new requests wait for one "
                "(backpressure)", shard_, conns_.workspaces().capacity());
    logged_ns_ = now_ns;
  }
  c.gate = InputGate::parked;
  wait_.push_back(c.slot);
}

Connection* WorkspaceScheduler::serve_next(ConnectionTable::Attach& how) noexcept {
  if (wait_.empty()) return nullptr;
  Connection& c = conns_.at(wait_.front());
  BR_ASSERT(c.in_use() && !c.closing() && c.gate == InputGate::parked);
  how = conns_.attach(c);
  if (how == ConnectionTable::Attach::none) return nullptr;
  wait_.remove(c.slot);
  c.gate = InputGate::open;
  return &c;
}

bool WorkspaceScheduler::pop_parked(Connection& c, uint16_t& bid, uint32_t& len) noexcept {
  if (c.sched.parked_head == kNoBuffer) return false;
  bid = c.sched.parked_head;
  len = len_[bid];
  c.sched.parked_head = next_[bid];
  if (c.sched.parked_head == kNoBuffer) c.sched.parked_tail = kNoBuffer;
  return true;
}

void WorkspaceScheduler::leave(Connection& c) noexcept {
  if (c.gate != InputGate::parked) return;
  wait_.remove(c.slot);
  c.gate = InputGate::stopped;
}

void WorkspaceScheduler::release_if_idle(Connection& c) noexcept {
  if (c.ws == nullptr || !c.idle()) return;
  workspace_returned(c);
  conns_.detach(c);
}

void WorkspaceScheduler::on_release(Connection& c) noexcept { workspace_returned(c); }

void WorkspaceScheduler::workspace_returned(Connection& c) noexcept {
  if (!c.shed) return;
  BR_ASSERT(shedding_ > 0);
  c.shed = false;
  --shedding_;
}

Connection* WorkspaceScheduler::next_to_shed(Timers& timers, uint64_t now_ns, uint64_t grace_ns) noexcept {
  if (shedding_ >= wait_.size()) return nullptr;
  Connection* c = timers.oldest_request();
  if (c == nullptr || c->request.context.start_ns + grace_ns > now_ns) return nullptr;
  BR_ASSERT(!c->shed && c->ws != nullptr);
  timers.clear(*c);
  c->shed = true;
  ++shedding_;
  return c;
}

}  // namespace busyring::net
