// Connection slots of one shard. The light part (Connection) sits in a fixed array, and is all
// an idle connection costs. The heavy part (target, pipeline entries, output buffer, input
// backlog, body staging) is a Workspace from the shard's pool, attached only while the
// connection is busy (see workspace.h). Slots are reused LIFO (their pages stay warm). A slot's
// generation bumps when it is released, so a late CQE for the previous connection is
// recognised as stale.
//
// A connection's state is three small enums, not a set of flags (as Envoy's socket has one
// status):
//   Phase (its life):  free -> open -> answer_then_close | answer_then_half_close -> half_closed
//                      -> closing -> free;  open -> closing directly on a reset, error or timeout
//   InputGate (why input is not being parsed now): open, pipeline_full, held, parked, stopped
//   RecvState (its multishot receive): off <-> armed, paused by a cancel (pausing -> paused)
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "busyring/api/handler.h"
#include "busyring/http/parser.h"
#include "busyring/http/pipeline.h"
#include "slot_list.h"
#include "workspace.h"

namespace busyring::net {

inline constexpr uint32_t kMaxSlotsPerShard = 1u << 24;  // slot field of user_data
inline constexpr uint16_t kNoBuffer = UINT16_MAX;  // end of a parked-buffer chain
static_assert(kRecvBuffers <= kNoBuffer);

enum class Phase : uint8_t {
  free,                    // the slot holds no connection
  open,                    // reading requests and answering them
  answer_then_close,       // no more input; close once every queued answer is sent
  answer_then_half_close,  // the same, but input may be unread: shut our side down first and
                           // linger, so the client reads our answer instead of a reset
  half_closed,             // our side shut down (SHUT_WR); waiting for the peer's EOF or the linger timeout
  closing,                 // cancel sent; the slot is freed once no SQE names it
};

enum class InputGate : uint8_t {
  open,           // bytes are parsed as they arrive
  pipeline_full,  // the pipeline queue is full: bytes wait in the backlog, the receive is paused
  held,           // a complete request waits for room in the log or for ids; later bytes wait in
                  // the backlog. Outlasts a stop: a held request is complete and is answered first
  parked,         // no workspace was free: bytes wait in their receive buffers (the wait list)
  stopped,        // input is dropped from now on
};

enum class RecvState : uint8_t {
  off,      // no receive armed (its final CQE came): armed again by the shard's re-arm lists
  armed,    // a multishot receive is armed
  pausing,  // armed, and a cancel is on its way: backpressure
  paused,   // not armed, and not to be re-armed until the pause ends (resume_recv)
};

// The per-shard timeout lists (timers.h). Which list a connection is on is Connection::timer_list
// (kept with the other one-byte states, so that a slot stays as small as before: an idle
// connection costs its slot).
enum class TimerList : uint8_t { none, idle, request, linger, count };

struct TimerEntry {
  SlotLinks links;
  uint64_t deadline_ns = 0;
};

// The workspace scheduler's part of a connection (workspace_scheduler.h): its place on the wait
// list and the input it parked there, a chain of the receive buffers it arrived in. (Its two
// flags, eof_parked and shed, sit with the connection's other one-byte states.)
struct SchedulerState {
  SlotLinks wait;
  uint16_t parked_head = kNoBuffer;
  uint16_t parked_tail = kNoBuffer;
};

struct Connection {
  int fd = -1;
  uint32_t gen = 0;
  uint32_t slot = 0;
  uint16_t in_flight = 0;  // SQEs naming this slot whose final CQE has not arrived
  Phase phase = Phase::free;
  InputGate gate = InputGate::open;
  RecvState recv = RecvState::off;
  TimerList timer_list = TimerList::none;
  bool send_in_flight = false;
  bool on_flush_list = false;  // the shard's list of connections with answers to render and send
  bool on_rearm_list = false;  // the shard's lists of receives to arm again
  bool parser_ready = false;   // the parser was initialised (attached at least once)
  bool eof_parked = false;     // the scheduler's: the peer closed its side after the parked input
  bool shed = false;           // the scheduler's: timed out early to free its workspace, counted until it is back
  bool admin = false;          // accepted on the admin listener (--admin-bind): no API, no token
  uint32_t out_len = 0;
  uint32_t out_sent = 0;
  uint32_t backlog_len = 0;
  SchedulerState sched;
  TimerEntry timer;
  // The request being read or held: its context (from its first byte on: request.context.start_ns
  // is set when a request begins), head verdict and validated state.
  api::Request request;
  // Kept across workspaces: llhttp's state and the per-connection framing checks. Its target
  // and staging pointers, and the queue's entries, are those of the attached workspace.
  http::Parser parser;
  http::PipelineQueue queue;
  Workspace* ws = nullptr;  // attached while busy

  bool in_use() const noexcept { return phase != Phase::free; }
  // Closing, or closed already (a handler may still hold c after its slot was released).
  bool closing() const noexcept { return phase == Phase::closing || phase == Phase::free; }
  // Closes once what is queued is answered (no more input is read).
  bool closes_after_answers() const noexcept {
    return phase == Phase::answer_then_close || phase == Phase::answer_then_half_close;
  }
  bool recv_armed() const noexcept { return recv == RecvState::armed || recv == RecvState::pausing; }
  bool recv_paused() const noexcept { return recv == RecvState::pausing || recv == RecvState::paused; }
  // Nothing left to answer: no request held for an answer, no answer queued, none rendered
  // and unsent, none being sent.
  bool answered() const noexcept {
    return gate != InputGate::held && queue.empty() && !send_in_flight && out_len == 0;
  }
  // Nothing needs a workspace: everything answered, no input kept, and the parser between
  // requests (or never to be fed again).
  bool idle() const noexcept {
    return answered() && backlog_len == 0 && (!parser.in_request() || gate == InputGate::stopped);
  }
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
  // Gives back the workspace of a connection that no longer needs it (c.idle()).
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
