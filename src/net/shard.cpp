// Shard set-up, the loop, and the shard-level operations (accept, log writes, stop).
#include "busyring/net/shard.h"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/align.h"
#include "busyring/base/assert.h"
#include "busyring/base/clock.h"
#include "busyring/api/status_page.h"
#include "busyring/base/log.h"
#include "busyring/net/fault_stall.h"
#include "busyring/net/ring.h"
#include "busyring/net/service_watch.h"
#include "busyring/storage/record.h"
#include "busyring/storage/segment.h"

namespace busyring::net {
namespace {

constexpr uint16_t kRecvGroup = 0;
constexpr uint64_t kWaitNs = kShardIdleTurnNs;  // loop tick: timeouts, the stop check, the heartbeat
constexpr uint64_t kWriteBehindNs = 1'000'000;  // --ack=memory: records reach a write within 1 ms
constexpr uint64_t kHeldPollNs = 1'000'000;     // held requests are retried at least this often
constexpr uint64_t kStopGraceNs = 10'000'000'000;
constexpr size_t kMetricsScratch = kOutBytes - 1024;  // a metrics response fits one send
static_assert(api::kMaxStatusPageBytes + 1024 <= kOutBytes, "the status page fits one send");

uint64_t next_pow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

Shard::Shard(SharedState& shared, ShardSetup setup) noexcept
    : shared_(shared),
      config_(*shared.config),
      setup_(std::move(setup)),
      ids_(*shared.block_source, shared.config->id_block, setup_.holes),
      handler_(ids_, log_, *setup_.metrics, shared.config->ack == config::Ack::memory) {}

Shard::~Shard() {
  if (wake_fd_ >= 0) close(wake_fd_);
  if (setup_.listen_fd >= 0 && !listener_closed_) close(setup_.listen_fd);
  if (ring_ready_) io_uring_queue_exit(&ring_);
}

std::string Shard::start() noexcept {
  if (setup_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(setup_.cpu, &set);
    const int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (rc != 0) return "cannot pin shard " + std::to_string(setup_.index) + " to CPU " +
                        std::to_string(setup_.cpu) + ": " + std::strerror(rc) + " (see --cpu-affinity)";
  }
  auto mode = setup_ring(&ring_, RingSetup{});
  if (!mode) return mode.error();
  ring_ready_ = true;
  ring_mode_ = mode.value();
  (void)io_uring_register_ring_fd(&ring_);  // saves an fd lookup per enter; optional

  int rc = buf_ring_.setup(&ring_, kRecvGroup, kRecvBuffers, kRecvBufferBytes, simdjson::SIMDJSON_PADDING);
  if (rc < 0) return std::string("cannot register the receive buffer ring: ") + std::strerror(-rc);

  limits_.max_body = config_.max_body;
  limits_.max_head_bytes = config_.max_header;
  limits_.max_target_bytes = 2048;
  rc = conns_.init(config_.max_connections, workspaces_for(config_.max_connections), config_.max_body,
                   static_cast<uint32_t>(simdjson::SIMDJSON_PADDING), &limits_);
  if (rc < 0) return "cannot reserve memory for --max-connections " + std::to_string(config_.max_connections);
  parked_next_.assign(kRecvBuffers, kNoBuffer);
  parked_len_.assign(kRecvBuffers, 0);

  storage::WriterOptions wo;
  wo.dir = storage::shard_dir(config_.data_dir, setup_.index);
  wo.segment_size = config_.segment_size;
  wo.dsync = config_.ack == config::Ack::durable;
  wo.max_record_body = config_.max_body;
  wo.max_in_flight = config_.log_writes;
  wo.min_batch_records = config_.log_min_batch;
  wo.skip_write_cqe = (ring_.features & IORING_FEAT_CQE_SKIP) != 0;
  // --ack=memory answers before the write, so its writes can wait to grow (write-behind):
  // at most kWriteBehindNs, which bounds what a crash loses beyond the writes in flight.
  if (config_.ack == config::Ack::memory) wo.write_delay_ns = kWriteBehindNs;
  // Enough buffers to ride out a disk stall of a few hundred milliseconds at full rate.
  wo.buffer_count = std::max<uint32_t>(8, 2 * config_.log_writes);
  auto opened = log_.open(wo, setup_.position);
  if (!opened) return opened.error();
  rc = log_.register_buffers(&ring_);
  if (rc < 0)
    return std::string("cannot register log buffers with io_uring: ") + std::strerror(-rc) +
           (rc == -ENOMEM ? " (raise RLIMIT_MEMLOCK: ulimit -l, or LimitMEMLOCK= in systemd)" : "");
  if (!handler_.init(config_.max_body)) return "cannot allocate the JSON parser for --max-body";

  // Every record still in the log buffers may wait for its write: size the FIFO for the most
  // records the buffers can hold.
  const uint64_t buffer_bytes = base::align_up(
      std::max<uint64_t>(wo.buffer_bytes, storage::record_bytes(config_.max_body)), 4096);
  waiters_.resize(next_pow2(wo.buffer_count * buffer_bytes / storage::record_bytes(0)));
  waiter_mask_ = waiters_.size() - 1;
  dirty_.reserve(config_.max_connections);
  rearm_.reserve(config_.max_connections);
  nobufs_.reserve(config_.max_connections);
  held_.reserve(config_.max_connections);
  scratch_.resize(kMetricsScratch);
  for (auto& h : timer_head_) h = kNoSlot;
  for (auto& t : timer_tail_) t = kNoSlot;

  render_ctx_.shards = shared_.all_metrics;
  render_ctx_.shard_count = shared_.shard_count;
  render_ctx_.scratch = scratch_.data();
  render_ctx_.scratch_bytes = scratch_.size();
  render_ctx_.date = &date_;
  render_ctx_.id_source = shared_.block_source;

  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
  arm_wake();
  arm_accept();
  rc = io_uring_submit(&ring_);
  if (rc < 0) return std::string("io_uring_submit: ") + std::strerror(-rc);
  return {};
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
    // Requests held for ids have no completion to wake them: poll while any are held.
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

void Shard::dispatch(io_uring_cqe* cqe) noexcept {
  const UserData ud = decode(io_uring_cqe_get_data64(cqe));
  switch (ud.op) {
    case Op::accept: on_accept(cqe); return;
    case Op::wake:
      if (shared_.stop.load(std::memory_order_relaxed)) begin_stop();
      else arm_wake();
      return;
    case Op::log_write:
      --log_ops_in_flight_;
      log_.on_write(ud.seq, cqe->res);
      release_batches();
      return;
    case Op::log_sync:
      --log_ops_in_flight_;
      log_.on_sync(ud.seq, cqe->res);
      release_batches();
      return;
    case Op::log_prepare:
      --log_ops_in_flight_;
      log_.on_prepare(cqe->res);
      return;
    case Op::log_void:
      --log_ops_in_flight_;
      log_.on_void(cqe->res, now_ns_);
      return;
    case Op::close: return;
    case Op::recv:
    case Op::send:
    case Op::cancel:
    case Op::shutdown: break;
    case Op::none: BR_ASSERT(false);
  }
  BR_ASSERT(ud.slot < conns_.high_water());
  Connection& c = conns_.at(ud.slot);
  if (!c.open || c.gen != ud.gen) {
    // A completion for a connection already gone: recycle its buffer, count it, drop it.
    if (cqe->flags & IORING_CQE_F_BUFFER) {
      buf_ring_.lent();
      buf_ring_.give_back(static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT));
    }
    metrics::bump(setup_.metrics->stale_cqes);
    return;
  }
  switch (ud.op) {
    case Op::recv: on_recv(c, cqe); return;
    case Op::send:
      BR_ASSERT(c.in_flight > 0);
      --c.in_flight;
      on_send(c, cqe->res);
      return;
    default:
      BR_ASSERT(c.in_flight > 0);
      --c.in_flight;
      on_conn_op_done(c);
      return;
  }
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
  timer_update(*c);
}

void Shard::submit_log_ops() noexcept {
  while (log_.write_ready(now_ns_)) {
    // The write and its linked fdatasync must go in one submission: make room for both first.
    if (io_uring_sq_space_left(&ring_) < log_.sqes_per_write()) io_uring_submit(&ring_);
    io_uring_sqe* w = sqe();
    io_uring_sqe* f = log_.sqes_per_write() == 2 ? sqe() : nullptr;
    const uint64_t batch = log_.prep_write(w, f);
    batch_submit_ns_[batch % kBatchSlots] = now_ns_;
    io_uring_sqe_set_data64(w, encode_seq(Op::log_write, batch));
    if (f != nullptr) io_uring_sqe_set_data64(f, encode_seq(Op::log_sync, batch));
    log_ops_in_flight_ += log_.cqes_per_write();
  }
  if (log_.void_ready(now_ns_)) {
    io_uring_sqe* s = sqe();
    log_.prep_void(s);
    io_uring_sqe_set_data64(s, encode_seq(Op::log_void, 0));
    ++log_ops_in_flight_;
  }
  if (log_.prepare_ready(now_ns_)) {
    io_uring_sqe* s = sqe();
    log_.prep_prepare(s);
    io_uring_sqe_set_data64(s, encode_seq(Op::log_prepare, 0));
    ++log_ops_in_flight_;
  }
}

void Shard::release_batches() noexcept {
  storage::WriteDone done;
  metrics::ShardMetrics& m = *setup_.metrics;
  while (log_.pop_done(done)) {
    m.observe_write_latency_us((now_ns_ - batch_submit_ns_[done.batch % kBatchSlots]) / 1000);
    if (done.res == 0) {
      metrics::bump(m.records_written, done.records);
      metrics::bump(m.bytes_written, done.bytes);
      metrics::bump(m.flushes);
      m.observe_flush(done.records);
    } else {
      metrics::bump(m.flush_failures);
    }
    // Release the responses waiting for this batch, in append order.
    while (waiter_head_ < waiter_tail_) {
      const Waiter& w = waiters_[waiter_head_ & waiter_mask_];
      BR_ASSERT(w.batch >= done.batch);
      if (w.batch != done.batch) break;
      ++waiter_head_;
      Connection& c = conns_.at(w.slot);
      if (!c.open || c.gen != w.gen || !c.queue.contains(w.seq)) continue;
      http::Pending& p = c.queue.at(w.seq);
      BR_ASSERT(p.state == http::PendingState::waiting);
      if (done.res != 0) {
        const uint8_t route = p.route;
        const uint64_t start = p.start_ns;
        const bool keep = p.keep_alive;
        const bool http10 = p.http10;
        p = api::Handler::error_pending(api::ErrorId::storage_unavailable);
        p.route = route;
        p.start_ns = start;
        p.keep_alive = keep;
        p.http10 = http10;
      }
      p.state = http::PendingState::ready;
      mark_dirty(c);
    }
  }
}

void Shard::before_sleep() noexcept {
  if (!stopping_ && shared_.stop.load(std::memory_order_relaxed)) begin_stop();
  for (size_t i = 0; i < rearm_.size(); ++i) {
    Connection& c = conns_.at(rearm_[i]);
    c.rearm = false;
    if (c.open && !c.closing && !c.recv_armed && !c.recv_paused) arm_recv(c);
  }
  rearm_.clear();
  if (!accept_armed_ && !stopping_) arm_accept();
  if (!held_.empty()) retry_held();
  if (wait_head_ != kNoSlot) {
    serve_waiters();
    if (wait_head_ != kNoSlot) shed_slow_requests();
  }
  submit_log_ops();
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Connection& c = conns_.at(dirty_[i]);
    c.dirty = false;
    if (c.open && !c.closing) flush(c);
  }
  dirty_.clear();
  expire_timers();
  // Receives that found the buffer ring empty are re-armed once a good part of it is back,
  // rather than failing again at once, turn after turn.
  if (!nobufs_.empty() && buf_ring_.available() >= kRecvBuffers / 8) {
    for (const uint32_t slot : nobufs_) {
      Connection& c = conns_.at(slot);
      c.rearm = false;
      if (c.open && !c.closing && !c.recv_armed && !c.recv_paused) arm_recv(c);
    }
    nobufs_.clear();
  }
  buf_ring_.publish();  // what this turn gave back, before the kernel runs again
  conns_.give_back_if_idle();
  const bool healthy = log_.healthy();
  if (healthy != healthy_) {
    healthy_ = healthy;
    setup_.metrics->storage_healthy.store(healthy ? 1 : 0, std::memory_order_relaxed);
    if (healthy) BR_LOG_INFO("shard %u: storage accepts writes again", setup_.index);
    else BR_LOG_ERROR("shard %u: storage unavailable: %s", setup_.index, log_.health_reason());
  }
  setup_.metrics->id_blocks_taken.store(ids_.issued(), std::memory_order_relaxed);
  setup_.metrics->holes_reissued.store(ids_.holes_reissued(), std::memory_order_relaxed);
  setup_.metrics->workspaces_in_use.store(conns_.workspaces().in_use(), std::memory_order_relaxed);
  const uint32_t overflow = *ring_.cq.koverflow;
  if (overflow != last_overflow_) {
    metrics::bump(setup_.metrics->cq_overflows, overflow - last_overflow_);
    last_overflow_ = overflow;
  }
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
  // Requests already complete are answered and flushed; partial ones are dropped. A connection
  // waiting for a workspace is stopped once its parked input is parsed (replay_parked).
  for (uint32_t slot = 0; slot < conns_.high_water(); ++slot) {
    Connection& c = conns_.at(slot);
    if (!c.open || c.closing || c.ws_wait) continue;
    stop_connection(c);
  }
}

bool Shard::drained() const noexcept {
  return conns_.used() == 0 && log_.idle() && log_ops_in_flight_ == 0;
}

}  // namespace busyring::net
