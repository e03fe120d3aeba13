// Connection slots of one shard. The light part (Connection) sits in a fixed array, and is all
// an idle connection costs. The heavy part (target, pipeline entries, output buffer, input
// backlog, body staging) is a Workspace from the shard's pool, attached only while the
// connection is busy (see workspace.h). Slots are reused LIFO (their pages stay warm). A slot's
// generation bumps when it is released, so a late CQE for the previous connection is
// recognised as stale.
//
// Connection life:  open -> (idle <-> busy: reading, backlogged, answering; or waiting for a
// workspace) -> close_after | stop -> closing -> free
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "busyring/api/handler.h"
#include "busyring/http/parser.h"
#include "busyring/http/pipeline.h"
#include "busyring/net/workspace.h"

namespace busyring::net {

inline constexpr uint32_t kNoSlot = UINT32_MAX;
inline constexpr uint32_t kMaxSlotsPerShard = 1u << 24;  // slot field of user_data
inline constexpr uint16_t kNoBuffer = UINT16_MAX;  // end of a parked-buffer chain
static_assert(kRecvBuffers <= kNoBuffer);

enum class TimerList : uint8_t { none, idle, request, linger, count };

struct Connection {
  int fd = -1;
  uint32_t gen = 0;
  uint32_t slot = 0;
  uint16_t in_flight = 0;     // SQEs naming this slot whose final CQE has not arrived
  bool open = false;
  bool recv_armed = false;
  bool send_in_flight = false;
  bool cancel_sent = false;
  bool stop_reading = false;  // input is dropped from now on
  bool close_after = false;   // close once every queued response is sent
  bool linger = false;        // ... with a half-close first (input may be unread)
  bool draining = false;      // half-closed, waiting for the peer's EOF
  bool closing = false;       // cancel sent; freed when in_flight reaches 0
  bool dirty = false;         // on the shard's flush list
  bool rearm = false;         // on the shard's re-arm list
  bool recv_paused = false;   // backlog full: receive cancelled until it drains
  bool held = false;          // a complete request waits for room in the log (backpressure)
  bool ws_wait = false;       // on the shard's wait list: input parked until a workspace frees
  bool eof_parked = false;    // the peer closed its side after the parked input
  bool parser_ready = false;  // the parser was initialised (attached at least once)
  bool shed = false;          // timed out early to free its workspace (the shard's shedding_)
  TimerList timer = TimerList::none;
  uint32_t timer_prev = kNoSlot;
  uint32_t timer_next = kNoSlot;
  uint64_t deadline_ns = 0;
  uint64_t request_start_ns = 0;
  uint32_t out_len = 0;
  uint32_t out_sent = 0;
  uint32_t backlog_len = 0;
  uint32_t wait_prev = kNoSlot;   // the shard's wait list (FIFO)
  uint32_t wait_next = kNoSlot;
  uint16_t park_head = kNoBuffer;  // receive buffers held for a waiting connection, in order
  uint16_t park_tail = kNoBuffer;
  api::HeadVerdict verdict;
  // Kept across workspaces: llhttp's state and the per-connection framing checks. Its target
  // and staging pointers, and the queue's entries, are those of the attached workspace.
  http::Parser parser;
  http::PipelineQueue queue;
  Workspace* ws = nullptr;  // attached while busy
};

class ConnectionTable {
 public:
  ConnectionTable() = default;
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;
  ~ConnectionTable();

  // Reserves `capacity` slots and `workspaces` workspaces, whose staging holds a body of
  // max_body plus `padding`. 0 or -errno.
  [[nodiscard]] int init(uint32_t capacity, uint32_t workspaces, uint32_t max_body, uint32_t padding,
                         const http::Limits* limits) noexcept;

  // A fresh slot (no workspace yet), or nullptr when all are taken.
  Connection* acquire(int fd) noexcept;
  // Gives its workspace back first, if it still has one. The slot's memory stays as it is
  // (a handler may still look at c after closing it) until give_back_if_idle().
  void release(Connection& c) noexcept;
  // With no connection open, after a burst: returns the slots' and the workspaces' pages to the
  // kernel (zeroing them). Call only where no Connection& is held: at the end of a loop turn,
  // and before a new connection takes a slot.
  void give_back_if_idle() noexcept;
  static constexpr uint32_t kReturnAbove = 1024;  // slots ever used before an idle table is returned
  static constexpr uint32_t kReturnWorkspacesAbove = 64;  // the same for the workspace pool

  enum class Attach : uint8_t {
    none,           // every workspace is in use
    ok,             // attached: parser and queue point into it, both at a message boundary
    framing_error,  // attached, but the last request ended the HTTP framing (CONNECT, Upgrade):
                    // the caller answers 400 and closes, as if the next bytes had been parsed
  };
  // Takes a workspace for an idle connection (nothing buffered or queued, the parser between
  // requests) and re-points its parser and pipeline queue at it.
  Attach attach(Connection& c) noexcept;
  // Gives back the workspace of a connection that no longer needs it (idle again, or done
  // reading: its parser is never fed again).
  void detach(Connection& c) noexcept;

  Connection& at(uint32_t slot) noexcept { return slots_[slot]; }
  uint32_t used() const noexcept { return used_; }
  uint32_t high_water() const noexcept { return high_water_; }
  WorkspacePool& workspaces() noexcept { return pool_; }
  const WorkspacePool& workspaces() const noexcept { return pool_; }

 private:
  Connection* slots_ = nullptr;
  size_t slots_bytes_ = 0;
  WorkspacePool pool_;
  uint32_t capacity_ = 0;
  uint32_t high_water_ = 0;
  uint32_t used_ = 0;
  uint32_t gen_base_ = 0;  // generations restart above this after the table is given back
  const http::Limits* limits_ = nullptr;
  void give_back_all() noexcept;
  std::vector<uint32_t> free_;
};

}  // namespace busyring::net
