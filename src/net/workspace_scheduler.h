// Workspaces on a shard: a connection takes one from the pool when bytes arrive and gives it
// back as soon as it is idle again, so idle connections hold none. When none is free, the
// connection waits its turn (FIFO): its input stays parked in the receive buffers it arrived
// in (chained by buffer id, so parked input can never outgrow the buffer ring), its receive is
// paused, and it is served when a workspace comes back. Nothing is refused and nothing is
// allocated; a busy pool costs waiting clients latency, not errors. Requests that hold a
// workspace too long while others wait are timed out early (next_to_shed()).
#pragma once

#include <cstdint>
#include <vector>

#include "connection.h"
#include "slot_list.h"
#include "timers.h"

namespace busyring::net {

class WorkspaceScheduler {
 public:
  explicit WorkspaceScheduler(ConnectionTable& conns) noexcept;

  // recv_buffers: the size of the receive buffer ring (buffer ids are below it); shard: for
  // the log line.
  void init(uint32_t recv_buffers, uint32_t shard) noexcept;

  // A workspace for c if it has none: attached now, or none (c must wait) while others wait
  // or the pool is empty. None jumps the queue.
  ConnectionTable::Attach attach(Connection& c) noexcept;
  // Bytes for a connection that found no workspace: kept in their buffer `bid`, after what c
  // has parked already; c joins the wait list (gate parked) if it is not on it yet.
  void park(Connection& c, uint16_t bid, uint32_t len, uint64_t now_ns) noexcept;
  // Before sleeping: the connection waiting longest, now given a workspace freed since (`how`
  // says whether its framing survived), off the wait list with its gate open; nullptr when
  // none waits or no workspace is free.
  Connection* serve_next(ConnectionTable::Attach& how) noexcept;
  // c's parked input in arrival order, one buffer at a time (after serve_next(), or when c
  // closes); false once none is left.
  bool pop_parked(Connection& c, uint16_t& bid, uint32_t& len) noexcept;
  // c closes: off the wait list (its parked buffers are popped by the caller).
  void leave(Connection& c) noexcept;
  // Gives c's workspace back if nothing needs it any more (c.idle()).
  void release_if_idle(Connection& c) noexcept;
  // c's slot is released (with its workspace).
  void on_release(Connection& c) noexcept;

  // Under pressure (connections wait and no workspace is free), the requests in progress
  // longest give way once they are older than `grace_ns`, one for each waiter (counting those
  // already timed out whose workspace is not back yet): a client trickling its request
  // (slowloris) cannot keep the pool from those behind it. The next one to time out, marked
  // shed, or nullptr.
  Connection* next_to_shed(Timers& timers, uint64_t now_ns, uint64_t grace_ns) noexcept;

  bool waiting() const noexcept { return !wait_.empty(); }
  uint32_t waiting_count() const noexcept { return wait_.size(); }
  uint32_t shedding() const noexcept { return shedding_; }

 private:
  struct LinksOf {
    ConnectionTable* conns;
    SlotLinks& operator()(uint32_t slot) const noexcept { return conns->at(slot).sched.wait; }
  };
  void workspace_returned(Connection& c) noexcept;

  ConnectionTable& conns_;
  SlotList<LinksOf> wait_;
  uint32_t shedding_ = 0;  // requests timed out to free a workspace, not yet given back
  uint32_t shard_ = 0;
  uint64_t logged_ns_ = 0;  // the last "all workspaces busy" line (at most one per 10 s)
  // The parked-buffer chains, indexed by buffer id.
  std::vector<uint16_t> next_;
  std::vector<uint32_t> len_;
};

}  // namespace busyring::net
