// One shard: a pinned thread owning its ring, listener, buffer ring, connections, parsers, id
// issuer, log writer and metrics block. Nothing on its request path touches another shard.
//
// Loop turn: submit + wait (one syscall) -> dispatch every CQE on its Op -> before sleeping:
// start the group-commit write, flush ready responses into sends, re-arm receives, expire
// timers. Handlers only queue SQEs; they never submit or wait.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "busyring/api/handler.h"
#include "busyring/api/render.h"
#include "busyring/config/config.h"
#include "busyring/http/parser.h"
#include "busyring/http/response.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/shard_ids.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/net/buf_ring.h"
#include "busyring/net/connection.h"
#include "busyring/net/user_data.h"
#include "busyring/storage/log_writer.h"

namespace busyring::net {

// What the shards share: read-only after start, plus the atomics named here.
struct SharedState {
  const config::Config* config = nullptr;
  ids::BlockSource* block_source = nullptr;
  const metrics::ShardMetrics* const* all_metrics = nullptr;
  size_t shard_count = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> connections{0};  // over all shards, for --max-connections
};

struct ShardSetup {
  uint32_t index = 0;
  int cpu = -1;  // -1: not pinned
  int listen_fd = -1;
  storage::AppendPosition position;
  std::vector<ids::IdRange> holes;
  metrics::ShardMetrics* metrics = nullptr;
};

class Shard {
 public:
  Shard(SharedState& shared, ShardSetup setup) noexcept;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard();

  // In the shard's own thread: pin, then create everything (first touch). Empty on success.
  std::string start() noexcept;
  // Runs until stopped and drained. Returns true on a clean stop.
  bool run() noexcept;
  // From another thread: wakes the loop so it sees the stop flag.
  void wake() noexcept;
  const std::string& ring_mode() const noexcept { return ring_mode_; }

 private:
  struct Waiter {
    uint64_t batch;
    uint32_t slot;
    uint32_t gen;
    uint32_t seq;
  };

  // shard.cpp: loop, dispatch, shard-level ops.
  void dispatch(io_uring_cqe* cqe) noexcept;
  void before_sleep() noexcept;
  void arm_accept() noexcept;
  void arm_wake() noexcept;
  void on_accept(const io_uring_cqe* cqe) noexcept;
  void release_batches() noexcept;
  void submit_log_ops() noexcept;
  void on_log_cqe(storage::LogOp op, uint64_t seq, int res) noexcept;
  void begin_stop() noexcept;
  bool drained() const noexcept;

  // shard_conn.cpp: receive, parse, respond, close.
  void arm_recv(Connection& c) noexcept;
  void on_recv(Connection& c, const io_uring_cqe* cqe) noexcept;
  void on_send(Connection& c, int res) noexcept;
  void on_conn_op_done(Connection& c) noexcept;
  void handle_input(Connection& c, const char* data, size_t len) noexcept;
  size_t parse_input(Connection& c, const char* data, size_t len) noexcept;
  void drain_backlog(Connection& c) noexcept;
  void pause_recv(Connection& c) noexcept;
  void complete_request(Connection& c, const api::Outcome& o) noexcept;
  void retry_held() noexcept;
  void enqueue(Connection& c, http::Pending p, bool wait, uint64_t batch) noexcept;
  void mark_dirty(Connection& c) noexcept;
  void flush(Connection& c) noexcept;
  void submit_send(Connection& c) noexcept;
  void finish_responses(Connection& c) noexcept;
  void begin_close(Connection& c) noexcept;
  void stop_input(Connection& c, bool linger) noexcept;
  void fail_input(Connection& c, api::ErrorId error) noexcept;
  void on_peer_eof(Connection& c) noexcept;
  void stop_connection(Connection& c) noexcept;
  void resume_recv(Connection& c) noexcept;

  // shard_workspace.cpp: workspaces attached while busy; waiting (input parked) when none is free.
  bool try_attach(Connection& c) noexcept;
  bool attach_workspace(Connection& c) noexcept;
  void maybe_detach(Connection& c) noexcept;
  void park_input(Connection& c, uint16_t bid, uint32_t len) noexcept;
  void serve_waiters() noexcept;
  void replay_parked(Connection& c) noexcept;
  void wait_push(Connection& c) noexcept;
  void wait_remove(Connection& c) noexcept;
  void drop_workspace_state(Connection& c) noexcept;
  void workspace_returned(Connection& c) noexcept;

  // shard_timers.cpp: the per-shard timeout lists.
  void timer_set(Connection& c, TimerList list, uint64_t deadline_ns) noexcept;
  void timer_clear(Connection& c) noexcept;
  void timer_update(Connection& c) noexcept;
  void expire_timers() noexcept;
  void time_out_request(Connection& c) noexcept;
  void shed_slow_requests() noexcept;

  io_uring_sqe* sqe() noexcept;

  struct RingSink final : storage::SqeSink {
    explicit RingSink(io_uring* r) : ring(r) {}
    io_uring_sqe* sqe(storage::LogOp op, uint64_t seq) noexcept override;
    void reserve(uint32_t count) noexcept override;
    io_uring* ring;
  };

  SharedState& shared_;
  const config::Config& config_;
  ShardSetup setup_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::string ring_mode_;
  BufRing buf_ring_;
  ConnectionTable conns_;
  http::Limits limits_;
  ids::ShardIds ids_;
  storage::LogWriter log_;
  RingSink log_sink_{&ring_};
  api::Handler handler_;
  http::DateLine date_;
  api::RenderContext render_ctx_;
  std::vector<char> scratch_;
  std::vector<uint32_t> dirty_;
  std::vector<uint32_t> rearm_;
  std::vector<uint32_t> nobufs_;  // receives ended by -ENOBUFS, re-armed once buffers are back
  std::vector<uint32_t> held_;  // connections holding a request for the log, oldest first
  size_t held_head_ = 0;
  // Connections waiting for a workspace, oldest first (intrusive through wait_prev/wait_next),
  // and the receive buffers they hold: parked_next_/parked_len_ are indexed by buffer id, so a
  // connection's parked input is a chain of buffers and can never outgrow the buffer ring.
  uint32_t wait_head_ = kNoSlot;
  uint32_t wait_tail_ = kNoSlot;
  uint32_t waiting_ = 0;
  uint32_t shedding_ = 0;  // requests timed out to free a workspace, not yet given back
  std::vector<uint16_t> parked_next_;
  std::vector<uint32_t> parked_len_;
  uint64_t wait_logged_ns_ = 0;  // the last "all workspaces busy" line (at most one per 10 s)
  std::vector<Waiter> waiters_;  // ring buffer of size waiter_mask_ + 1
  uint64_t waiter_head_ = 0;
  uint64_t waiter_tail_ = 0;
  uint64_t waiter_mask_ = 0;
  uint32_t timer_head_[static_cast<size_t>(TimerList::count)] = {};
  uint32_t timer_tail_[static_cast<size_t>(TimerList::count)] = {};
  int wake_fd_ = -1;
  uint64_t wake_buf_ = 0;
  uint64_t now_ns_ = 0;
  uint64_t wall_ns_ = 0;
  uint64_t stop_deadline_ns_ = 0;
  uint64_t accept_seq_ = 0;
  bool accept_armed_ = false;
  bool stopping_ = false;
  bool listener_closed_ = false;
  bool healthy_ = true;
  uint32_t last_overflow_ = 0;
  static constexpr size_t kBatchSlots = 64;  // > log buffers: a batch's submit time, by batch
  uint64_t batch_submit_ns_[kBatchSlots] = {};
};

}  // namespace busyring::net
