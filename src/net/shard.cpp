// Shard set-up, the loop, dispatch, and the shard-level operations (accept, log CQEs, stop).
#include "shard.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "busyring/api/status_page.h"
#include "busyring/base/align.h"
#include "busyring/base/assert.h"
#include "busyring/base/clock.h"
#include "busyring/base/log.h"
#include "busyring/net/ring.h"
#include "busyring/storage/record.h"
#include "busyring/storage/segment.h"
#include "fault_stall.h"
#include "service_watch.h"

namespace busyring::net {
namespace {

constexpr uint16_t kRecvGroup = 0;
constexpr uint64_t kWaitNs = kShardIdleTurnNs;  // loop tick: timeouts, the stop check, the heartbeat
constexpr uint64_t kWriteBehindNs = 1'000'000;  // --ack=memory: records reach a write within 1 ms
constexpr uint64_t kHeldPollNs = 1'000'000;     // held requests are retried at least this often
constexpr uint64_t kStopGraceNs = 10'000'000'000;
constexpr uint64_t kLingerNs = 2'000'000'000;   // after our half-close, for the peer's EOF
constexpr size_t kMetricsScratch = kOutBytes - 1024;  // a metrics response fits one send
static_assert(api::kMaxStatusPageBytes + 1024 <= kOutBytes, "the status page fits one send");

TimerDurations durations(const config::Config& c) {
  return TimerDurations{c.idle_timeout_ms * 1'000'000ull, c.request_timeout_ms * 1'000'000ull, kLingerNs};
}

std::string errno_text(int neg_errno) { return std::strerror(-neg_errno); }

}  // namespace

Shard::Shard(SharedState& shared, ShardSetup setup) noexcept
    : shared_(shared),
      config_(*shared.config),
      setup_(std::move(setup)),
      timers_(conns_, durations(*shared.config)),
      scheduler_(conns_),
      ids_(*shared.block_source, shared.config->id_block, setup_.holes),
      log_port_(log_, *setup_.metrics),
      handler_(ids_, log_, *setup_.metrics, shared.config->ack == config::Ack::memory,
               shared.config->strict_content_type, shared.log_size) {
  handler_.set_admin_listener(!shared.config->admin_bind.empty());
}

Shard::~Shard() {
  if (wake_fd_ >= 0) close(wake_fd_);
  if (setup_.listen_fd >= 0 && !listener_closed_) close(setup_.listen_fd);
  if (setup_.admin_fd >= 0) close(setup_.admin_fd);
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

base::Status Shard::start() noexcept {
  if (auto st = pin(); !st) return st;
  if (auto st = open_ring(); !st) return st;
  if (auto st = open_connections(); !st) return st;
  if (auto st = open_log(); !st) return st;
  if (!handler_.init(config_.max_body, config_.max_batch))
    return base::Error{"cannot allocate the JSON parser and gzip buffer for --max-body and --max-batch"};
  dirty_.reserve(config_.max_connections);
  rearm_.reserve(config_.max_connections);
  nobufs_.reserve(config_.max_connections);
  held_.reserve(config_.max_connections);
  scratch_.resize(kMetricsScratch);
  render_ctx_.shards = shared_.all_metrics;
  render_ctx_.shard_count = shared_.shard_count;
  render_ctx_.scratch = scratch_.data();
  render_ctx_.scratch_bytes = scratch_.size();
  render_ctx_.date = &date_;
  render_ctx_.id_source = shared_.block_source;
  render_ctx_.log_size = shared_.log_size;
  render_ctx_.export_lag = shared_.export_lag;

  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) return base::Error{"eventfd: " + errno_text(-errno)};
  arm_wake();
  arm_accept();
  if (setup_.admin_fd >= 0) arm_admin_accept();
  if (shared_.tokens != nullptr) handler_.set_tokens(shared_.tokens->enter(setup_.index));
  const int rc = io_uring_submit(&ring_);
  if (rc < 0) return base::Error{"io_uring_submit: " + errno_text(rc)};
  return base::ok_status();
}

// First, so that everything created after is first touched on the shard's own CPU.
base::Status Shard::pin() noexcept {
  if (setup_.cpu < 0) return base::ok_status();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(setup_.cpu, &set);
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (rc == 0) return base::ok_status();
  return base::Error{"cannot pin shard " + std::to_string(setup_.index) + " to CPU " + std::to_string(setup_.cpu) +
                     ": " + std::strerror(rc) + " (see --cpu-affinity)"};
}

base::Status Shard::open_ring() noexcept {
  auto mode = setup_ring(&ring_, RingSetup{});
  if (!mode) return base::Error{mode.error()};
  ring_ready_ = true;
  ring_mode_ = mode.value();
  (void)io_uring_register_ring_fd(&ring_);  // saves an fd lookup per enter; optional
  const int rc = buf_ring_.setup(&ring_, kRecvGroup, kRecvBuffers, kRecvBufferBytes, simdjson::SIMDJSON_PADDING);
  if (rc < 0) return base::Error{"cannot register the receive buffer ring: " + errno_text(rc)};
  return base::ok_status();
}

base::Status Shard::open_connections() noexcept {
  limits_.max_body = config_.max_body;
  limits_.max_head_bytes = config_.max_header;
  limits_.max_target_bytes = 2048;
  const uint32_t slots = config_.max_connections + admin_slots();
  const int rc = conns_.init(slots, workspaces_for(slots), config_.max_body,
                             static_cast<uint32_t>(simdjson::SIMDJSON_PADDING), &limits_);
  if (rc < 0) return base::Error{"cannot reserve memory for --max-connections " + std::to_string(config_.max_connections)};
  scheduler_.init(kRecvBuffers, setup_.index);
  return base::ok_status();
}

base::Status Shard::open_log() noexcept {
  storage::WriterOptions wo;
  wo.dir = storage::shard_dir(config_.data_dir, setup_.index);
  wo.ledger_data_dir = config_.data_dir;  // each segment recorded before use (issue 17 §1)
  wo.shard = setup_.index;
  wo.segment_size = config_.segment_size;
  wo.dsync = config_.ack == config::Ack::durable;
  wo.max_record_body = config_.max_body;
  // A batch goes in one buffer: its bodies (at most --max-body, decompressed) and a header and
  // padding per record (--max-batch of them).
  wo.buffer_bytes = static_cast<uint32_t>(std::max<uint64_t>(
      wo.buffer_bytes, config_.max_body + uint64_t{config_.max_batch} * (storage::kRecordHeaderBytes + storage::kRecordAlign)));
  wo.max_in_flight = config_.log_writes;
  wo.min_batch_records = config_.log_min_batch;
  wo.skip_write_cqe = (ring_.features & IORING_FEAT_CQE_SKIP) != 0;
  // --ack=memory answers before the write, so its writes can wait to grow (write-behind):
  // at most kWriteBehindNs, which bounds what a crash loses beyond the writes in flight.
  if (config_.ack == config::Ack::memory) wo.write_delay_ns = kWriteBehindNs;
  // Enough buffers to ride out a disk stall of a few hundred milliseconds at full rate.
  wo.buffer_count = std::max<uint32_t>(8, 2 * config_.log_writes);
  if (auto opened = log_.open(wo, setup_.position, setup_.resumed); !opened) return opened;
  const int rc = log_.register_buffers(&ring_);
  if (rc < 0)
    return base::Error{"cannot register log buffers with io_uring: " + errno_text(rc) +
                       (rc == -ENOMEM ? " (raise RLIMIT_MEMLOCK: ulimit -l, or LimitMEMLOCK= in systemd)" : "")};
  // Every record still in the log buffers may wait for its write: room for the most records
  // the buffers can hold.
  const uint64_t buffer_bytes =
      base::align_up(std::max<uint64_t>(wo.buffer_bytes, storage::record_bytes(config_.max_body)), 4096);
  // (the log port counts requests waiting on writes: a batch is one)
  log_port_.init(wo.buffer_count * buffer_bytes / storage::record_bytes(0));
  return base::ok_status();
}

void Shard::wake() noexcept {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof one);
}

io_uring_sqe* Shard::sqe() noexcept { return get_sqe(&ring_); }

void Shard::arm_wake() noexcept {
  io_uring_sqe* s = sqe();
  io_uring_prep_read(s, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
  io_uring_sqe_set_data64(s, encode_seq(Op::wake, 0));
}

void Shard::arm_accept() noexcept {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, setup_.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, encode_seq(Op::accept, 0));
  accept_armed_ = true;
}

bool Shard::run() noexcept {
  bool clean = true;
  now_ns_ = base::monotonic_ns();
  wall_ns_ = base::wall_ns();
  date_.update(wall_ns_);
  while (true) {
    metrics::bump(setup_.metrics->loop_turns);  // the heartbeat the watchdog thread checks
    fault_stall_point(setup_.index);             // busyring-faulty only (fault_stall.h)
    before_sleep();
    if (stopping_ && drained()) break;
    if (stopping_ && now_ns_ > stop_deadline_ns_) {
      BR_LOG_WARN("shard %u: stop grace period over with %u connections open", setup_.index, conns_.used());
      clean = false;
      break;
    }
    // Sleep until the tick, or until write-behind records are due (--ack=memory).
    const uint64_t due = log_.next_write_ns();
    uint64_t wait_ns = due <= now_ns_ ? 0 : std::min(kWaitNs, due - now_ns_);
    // Requests held for the log or for ids may have no completion to wake them: poll while any are.
    if (!held_.empty()) wait_ns = std::min(wait_ns, kHeldPollNs);
    __kernel_timespec ts{0, static_cast<long long>(wait_ns)};
    io_uring_cqe* cqe = nullptr;
    const int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    BR_ASSERT(rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EBUSY || rc == -EAGAIN);
    now_ns_ = base::monotonic_ns();
    wall_ns_ = base::wall_ns();
    date_.update(wall_ns_);
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      dispatch(cqe);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    buf_ring_.publish();
  }
  // Let the kernel finish the close SQEs queued by the last turn.
  io_uring_submit(&ring_);
  return clean;
}

// Before sleeping, once per loop turn (Redis's beforeSleep): the turn's batched work. Each step
// says why it comes where it does.
void Shard::before_sleep() noexcept {
  // 1. The stop flag first: every step below then acts as stopping (no accept armed again;
  //    connections answer what they have and close).
  if (!stopping_ && shared_.stop.load(std::memory_order_relaxed)) begin_stop();
  //    The token set too: this is the turn's quiescent point (no request is being checked),
  //    so the set loaded here serves this turn's requests and the old one may be freed.
  if (shared_.tokens != nullptr) handler_.set_tokens(shared_.tokens->enter(setup_.index));
  // 2. Held requests are retried before anything else is parsed: they arrived first, and they
  //    must append before the log's operations go out (step 6), because writes completed this
  //    turn freed the buffers they wait for, and their records then join this turn's write.
  if (!held_.empty()) retry_held();
  // 3. Workspaces freed this turn go to the connections that waited longest; their parked input
  //    is parsed now, for the same reason (its records join this turn's write). Only if some
  //    still wait after that are slow requests shed: a freed workspace beats a 408.
  if (scheduler_.waiting()) {
    serve_waiters();
    if (scheduler_.waiting()) shed_slow_requests();
  }
  // 4. Receives are armed again after steps 2 and 3, which resume receives once their input is
  //    parsed, so those are armed in this turn's submission rather than the next.
  rearm_receives(rearm_);
  if (!accept_armed_ && !stopping_) arm_accept();
  if (setup_.admin_fd >= 0 && !admin_accept_armed_ && !stopping_) arm_admin_accept();
  // 5. Timers expire before the flush (step 7): a request timed out here queues its 408, and
  //    this turn's flush sends it.
  expire_timers();
  // 6. The log's operations (group commit: one write takes every record appended this turn,
  //    plus preparation and void steps) enter the SQ before the sends, so the disk starts on
  //    them first: a durable 201 waits for its write, a send waits for nothing.
  log_port_.submit(log_sink_, now_ns_);
  // 7. Answers ready this turn are rendered and sent, at most one send in flight per connection.
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Connection& c = conns_.at(dirty_[i]);
    c.on_flush_list = false;
    if (!c.closing()) flush(c);
  }
  dirty_.clear();
  // 8. Receives that found the buffer ring empty are armed again once a good part of it is
  //    back, rather than failing again at once, turn after turn; after every step that gave
  //    buffers back this turn.
  if (!nobufs_.empty() && buf_ring_.available() >= kRecvBuffers / 8) rearm_receives(nobufs_);
  // 9. Buffers given back this turn are published before the kernel runs again (the submit
  //    that starts the wait), so the receives armed above can use them.
  buf_ring_.publish();
  // 10. With no connection left, the table's pages go back: last, since no step holds a
  //     Connection& any more.
  conns_.give_back_if_idle();
  // 11. Health and gauges, from the state this turn left.
  publish_state();
}

void Shard::rearm_receives(std::vector<uint32_t>& slots) noexcept {
  for (const uint32_t slot : slots) {
    Connection& c = conns_.at(slot);
    c.on_rearm_list = false;
    if (!c.closing() && c.recv == RecvState::off) arm_recv(c);
  }
  slots.clear();
}

void Shard::publish_state() noexcept {
  metrics::ShardMetrics& m = *setup_.metrics;
  const bool healthy = log_.healthy();
  if (healthy != healthy_) {
    healthy_ = healthy;
    m.storage_healthy.store(healthy ? 1 : 0, std::memory_order_relaxed);
    if (healthy) BR_LOG_INFO("shard %u: storage accepts writes again", setup_.index);
    else BR_LOG_ERROR("shard %u: storage unavailable: %s", setup_.index, log_.health_reason());
  }
  m.id_blocks_taken.store(ids_.issued(), std::memory_order_relaxed);
  m.holes_reissued.store(ids_.holes_reissued(), std::memory_order_relaxed);
  m.workspaces_in_use.store(conns_.workspaces().in_use(), std::memory_order_relaxed);
  m.segment_waits.store(log_.segment_waits(), std::memory_order_relaxed);
  const uint32_t overflow = *ring_.cq.koverflow;
  if (overflow != last_overflow_) {
    metrics::bump(m.cq_overflows, overflow - last_overflow_);
    last_overflow_ = overflow;
  }
}

void Shard::dispatch(io_uring_cqe* cqe) noexcept {
  const UserData ud = decode(io_uring_cqe_get_data64(cqe));
  switch (ud.op) {
    case Op::accept:
      if (ud.seq == kAdminAcceptSeq) on_admin_accept(cqe);
      else on_accept(cqe);
      return;
    case Op::wake:
      if (shared_.stop.load(std::memory_order_relaxed)) begin_stop();
      else arm_wake();
      return;
    case Op::log_write: on_log_cqe(storage::LogOp::write, ud.seq, cqe->res); return;
    case Op::log_sync: on_log_cqe(storage::LogOp::sync, ud.seq, cqe->res); return;
    case Op::log_prepare: on_log_cqe(storage::LogOp::prepare, ud.seq, cqe->res); return;
    case Op::log_void: on_log_cqe(storage::LogOp::void_mark, ud.seq, cqe->res); return;
    case Op::log_summary: on_log_cqe(storage::LogOp::summary, ud.seq, cqe->res); return;
    case Op::close: return;
    case Op::recv:
    case Op::send:
    case Op::cancel:
    case Op::shutdown: dispatch_conn(ud, cqe); return;
    case Op::none: break;
  }
  BR_ASSERT(false);
}

void Shard::dispatch_conn(const UserData& ud, io_uring_cqe* cqe) noexcept {
  BR_ASSERT(ud.slot < conns_.high_water());
  Connection& c = conns_.at(ud.slot);
  if (!c.in_use() || c.gen != ud.gen) {
    // A completion for a connection already gone: recycle its buffer, count it, drop it.
    if (cqe->flags & IORING_CQE_F_BUFFER) {
      buf_ring_.lent();
      buf_ring_.give_back(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    }
    metrics::bump(setup_.metrics->stale_cqes);
    return;
  }
  if (ud.op == Op::recv) {
    on_recv(c, cqe);
    return;
  }
  BR_ASSERT(c.in_flight > 0);
  --c.in_flight;
  if (ud.op == Op::send) on_send(c, cqe->res);
  else on_conn_op_done(c);  // cancel, shutdown
}

void Shard::on_accept(const io_uring_cqe* cqe) noexcept {
  if (!(cqe->flags & IORING_CQE_F_MORE)) accept_armed_ = false;
  if (cqe->res < 0) {
    if (cqe->res != -ECANCELED && cqe->res != -EINVAL)
      BR_LOG_WARN("shard %u: accept failed: %s%s", setup_.index, std::strerror(-cqe->res),
                  cqe->res == -EMFILE || cqe->res == -ENFILE ? " (raise ulimit -n)" : "");
    return;
  }
  const int fd = cqe->res;
  // The last connection may have gone earlier in this turn: give the pages back before a new
  // one takes a slot (no handler holds a Connection& here).
  conns_.give_back_if_idle();
  const uint32_t open_now = shared_.connections.fetch_add(1, std::memory_order_relaxed);
  Connection* c = nullptr;
  if (!stopping_ && open_now < config_.max_connections) c = conns_.acquire(fd);
  if (c == nullptr) {
    shared_.connections.fetch_sub(1, std::memory_order_relaxed);
    metrics::bump(setup_.metrics->connections_rejected);
    close(fd);
    return;
  }
  metrics::bump(setup_.metrics->connections_accepted);
  metrics::bump(setup_.metrics->connections_open);
  arm_recv(*c);
  timers_.refresh(*c, now_ns_);
}

// A CQE of the log's: batches it completes release their waiting responses, in append order.
void Shard::on_log_cqe(storage::LogOp op, uint64_t seq, int res) noexcept {
  log_port_.on_complete(op, seq, res, now_ns_, [this](const LogPort::Waiter& w, int r) { on_write_released(w, r); });
}

void Shard::begin_stop() noexcept {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ns_ = now_ns_ + kStopGraceNs;
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, encode_seq(Op::accept, 0), 0);
  io_uring_sqe_set_data64(s, encode_seq(Op::close, 0));
  close(setup_.listen_fd);
  listener_closed_ = true;
  close_admin_listener();
  // Requests already complete are answered and flushed; partial ones are dropped. A connection
  // waiting for a workspace is stopped once its parked input is parsed (replay_parked).
  for (uint32_t slot = 0; slot < conns_.high_water(); ++slot) {
    Connection& c = conns_.at(slot);
    if (c.closing() || c.gate == InputGate::parked) continue;
    stop_connection(c);
  }
}

bool Shard::drained() const noexcept { return conns_.used() == 0 && log_port_.idle(); }

}  // namespace busyring::net
