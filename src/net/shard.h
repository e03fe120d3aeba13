// One shard: a pinned thread owning its ring, listener, buffer ring, connections, parsers, id
// issuer, log writer and metrics block. Nothing on its request path touches another shard.
// The jobs it delegates each have their own object: the connection table (connection.h), the
// timeout lists (timers.h), the workspace scheduler (workspace_scheduler.h), the port to the
// log writer (log_port.h), the API's decisions (api/handler.h). What is left here is set-up,
// the loop, dispatch and connection I/O:
//   shard.cpp         set-up, the loop and before_sleep, dispatch, accept, stop
//   shard_input.cpp   receive -> parse -> decide (hold, park, back-pressure)
//   shard_output.cpp  queue -> render -> send -> close, and timeouts
//
// Loop turn: submit + wait (one syscall) -> dispatch every CQE on its Op -> before sleeping
// (before_sleep, whose steps say why they come in that order). Handlers only queue SQEs; they
// never submit or wait.
#pragma once

#include <liburing.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "busyring/api/handler.h"
#include "busyring/api/render.h"
#include "busyring/base/result.h"
#include "busyring/config/config.h"
#include "busyring/http/parser.h"
#include "busyring/http/response.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/shard_ids.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/net/server.h"
#include "busyring/storage/log_writer.h"
#include "buf_ring.h"
#include "connection.h"
#include "log_port.h"
#include "timers.h"
#include "user_data.h"
#include "workspace_scheduler.h"

namespace busyring::net {

// The admin listener's multishot accept carries this sequence number (the public one, 0).
inline constexpr uint64_t kAdminAcceptSeq = 1;
// Connections the admin listener takes at once, on top of --max-connections: a scrape still
// gets in while the public port is full.
inline constexpr uint32_t kAdminConnections = 16;

// What the shards share: read-only after start, plus the atomics named here.
struct SharedState {
  const config::Config* config = nullptr;
  ids::BlockSource* block_source = nullptr;
  const storage::LogSizeGauge* log_size = nullptr;  // --max-log-size
  const storage::ExportLagGauge* export_lag = nullptr;  // --export-checkpoint
  const metrics::ShardMetrics* const* all_metrics = nullptr;
  size_t shard_count = 0;
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> connections{0};  // over all shards, for --max-connections
  SharedTokens* tokens = nullptr;  // --auth-token-file; each shard enters it once per loop turn
};

class Shard {
 public:
  Shard(SharedState& shared, ShardSetup setup) noexcept;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  ~Shard();

  // In the shard's own thread: pin, then create everything (first touch).
  base::Status start() noexcept;
  // Runs until stopped and drained. Returns true on a clean stop.
  bool run() noexcept;
  // From another thread: wakes the loop so it sees the stop flag.
  void wake() noexcept;
  const std::string& ring_mode() const noexcept { return ring_mode_; }

 private:
  // shard.cpp: set-up, the loop, dispatch, shard-level operations.
  base::Status pin() noexcept;
  base::Status open_ring() noexcept;
  base::Status open_connections() noexcept;
  base::Status open_log() noexcept;
  void dispatch(io_uring_cqe* cqe) noexcept;
  void dispatch_conn(const UserData& ud, io_uring_cqe* cqe) noexcept;
  void before_sleep() noexcept;
  void rearm_receives(std::vector<uint32_t>& slots) noexcept;
  void publish_state() noexcept;
  void arm_accept() noexcept;
  // admin_listener.cpp: the admin listener's accepts, on the shard that has one.
  void arm_admin_accept() noexcept;
  void on_admin_accept(const io_uring_cqe* cqe) noexcept;
  void close_admin_listener() noexcept;
  uint32_t admin_slots() const noexcept;
  void arm_wake() noexcept;
  void on_accept(const io_uring_cqe* cqe) noexcept;
  void on_log_cqe(storage::LogOp op, uint64_t seq, int res) noexcept;
  void begin_stop() noexcept;
  bool drained() const noexcept;
  io_uring_sqe* sqe() noexcept;

  // shard_input.cpp: receive, parse, decide; hold, park, back-pressure.
  void arm_recv(Connection& c) noexcept;
  void on_recv(Connection& c, const io_uring_cqe* cqe) noexcept;
  void on_peer_eof(Connection& c) noexcept;
  bool attach(Connection& c) noexcept;
  void handle_input(Connection& c, const char* data, size_t len) noexcept;
  size_t parse_input(Connection& c, const char* data, size_t len) noexcept;
  bool on_head(Connection& c) noexcept;
  bool on_request(Connection& c) noexcept;
  void act(Connection& c, const api::Decision& d) noexcept;
  void retry_held() noexcept;
  void drain_backlog(Connection& c) noexcept;
  void pause_recv(Connection& c) noexcept;
  void resume_recv(Connection& c) noexcept;
  void serve_waiters() noexcept;
  void replay_parked(Connection& c) noexcept;

  // shard_output.cpp: queue, render, send, close; timeouts.
  void enqueue(Connection& c, const http::Pending& p) noexcept;
  void enqueue_after_write(Connection& c, const http::Pending& p, uint64_t batch) noexcept;
  void on_write_released(const LogPort::Waiter& w, int res) noexcept;
  void mark_dirty(Connection& c) noexcept;
  void flush(Connection& c) noexcept;
  void submit_send(Connection& c) noexcept;
  void on_send(Connection& c, int res) noexcept;
  void finish_responses(Connection& c) noexcept;
  void stop_input(Connection& c, Phase after) noexcept;
  void fail_input(Connection& c, api::ErrorId error) noexcept;
  void stop_connection(Connection& c) noexcept;
  void begin_close(Connection& c) noexcept;
  void on_conn_op_done(Connection& c) noexcept;
  void drop_parked(Connection& c) noexcept;
  void expire_timers() noexcept;
  void time_out_request(Connection& c) noexcept;
  void shed_slow_requests() noexcept;

  SharedState& shared_;
  const config::Config& config_;
  ShardSetup setup_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::string ring_mode_;
  BufRing buf_ring_;
  ConnectionTable conns_;
  Timers timers_;
  WorkspaceScheduler scheduler_;
  http::Limits limits_;
  ids::ShardIds ids_;
  storage::LogWriter log_;
  LogPort log_port_;
  RingSink log_sink_{&ring_};
  api::Handler handler_;
  http::DateLine date_;
  api::RenderContext render_ctx_;
  std::vector<char> scratch_;
  std::vector<uint32_t> dirty_;   // connections with answers to render and send (on_flush_list)
  std::vector<uint32_t> rearm_;   // receives to arm again (on_rearm_list)
  std::vector<uint32_t> nobufs_;  // receives ended by -ENOBUFS, re-armed once buffers are back
  std::vector<uint32_t> held_;    // connections holding a request for the log or ids, oldest first
  size_t held_head_ = 0;
  int wake_fd_ = -1;
  uint64_t wake_buf_ = 0;
  uint64_t now_ns_ = 0;
  uint64_t wall_ns_ = 0;
  uint64_t stop_deadline_ns_ = 0;
  bool accept_armed_ = false;
  bool admin_accept_armed_ = false;
  uint32_t admin_connections_ = 0;  // open on the admin listener; not counted in shared_.connections
  bool stopping_ = false;
  bool listener_closed_ = false;
  bool healthy_ = true;
  uint32_t last_overflow_ = 0;
};

}  // namespace busyring::net
