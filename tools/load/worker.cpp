// Worker lifecycle and loop: ring setup, the turn (one io_uring_enter that submits every
// queued SQE and waits for a CQE or the next timer), the due-time heap, and the periodic
// tick (timeouts, reconnects, progress). Connection I/O handlers live in worker_io.cpp.
// A loop turn makes one syscall however many requests it sends or replies it reads; in an
// open loop, replies (kernel-stamped) do not wake it unless a due request waits on one.
#include "worker.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "busyring/base/assert.h"
#include "busyring/base/clock.h"

namespace busyring::load {
namespace {

constexpr uint64_t tick_ns = 10'000'000;        // timeout and reconnect scan period
constexpr uint64_t p99_publish_ns = 250'000'000;  // running p99 for the live line
constexpr size_t recv_buffer_bytes = 16 * 1024;  // per connection; heads and 201 bodies fit

uint32_t round_up_pow2(uint32_t v) {
  uint32_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// Orders the due-time heap as a min-heap.
constexpr auto later = [](const auto& a, const auto& b) { return a.due_ns > b.due_ns; };

}  // namespace

Worker::Worker(const WorkerPlan& plan, Progress* progress)
    : plan_(plan), progress_(progress), ids_(plan.ids_fd) {}

Worker::~Worker() {
  // The ring goes first: the kernel may still reference connection buffers until then.
  if (ring_ready_) io_uring_queue_exit(&ring_);
  for (Connection& c : conns_) {
    if (c.fd >= 0) ::close(c.fd);
  }
}

int Worker::setup() noexcept {
  BR_ASSERT(plan_.target != nullptr);
  BR_ASSERT(plan_.connections > 0);
  // Replies are timed against wake-ups from our own timers: keep the kernel's timer slack
  // (50 us by default) out of the measured latencies.
  (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  // At most three SQEs per connection are in flight (connect or recv, plus send).
  const uint32_t sq_entries = std::clamp(round_up_pow2(2 * plan_.connections + 8), 64u, 4096u);
  const uint32_t flag_sets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      0,
  };
  int rc = -EINVAL;
  for (uint32_t flags : flag_sets) {  // older kernels reject newer flags with -EINVAL
    io_uring_params params{};
    params.flags = flags | IORING_SETUP_CQSIZE;
    params.cq_entries = std::clamp(round_up_pow2(4 * plan_.connections + 16), 4 * sq_entries,
                                   65536u);
    rc = io_uring_queue_init_params(sq_entries, &ring_, &params);
    cq_entries_ = params.cq_entries;
    if (rc != -EINVAL) break;
  }
  if (rc < 0) return rc;
  ring_ready_ = true;
  conns_.reserve(plan_.connections);
  for (uint32_t i = 0; i < plan_.connections; i++) conns_.emplace_back(recv_buffer_bytes);
  heap_.reserve(plan_.connections);
  return 0;
}

void Worker::warm_up() noexcept {
  phase_ = Phase::warm_up;
  now_ = base::monotonic_ns();
  for (Connection& c : conns_) start_connect(c);
  const uint64_t deadline = now_ + plan_.timeout_ns;
  for (;;) {
    const bool connecting = std::any_of(conns_.begin(), conns_.end(), [](const Connection& c) {
      return c.state == State::connecting || c.state == State::closing;
    });
    if (!connecting || now_ >= deadline) break;
    turn(deadline, 1);
  }
}

void Worker::run(uint64_t start_ns) noexcept {
  phase_ = Phase::running;
  stop_ns_ = start_ns + plan_.duration_ns;
  for (uint32_t i = 0; i < conns_.size(); i++) {
    const ScheduleSlot slot =
        schedule_slot(plan_.first_connection + i, plan_.total_connections, plan_.rate);
    conns_[i].pacer.init(start_ns, slot, plan_.pipeline, plan_.batch_ns);
  }
  now_ = base::monotonic_ns();
  realtime_offset_ns_ = base::realtime_offset_ns();
  next_tick_ns_ = now_ + tick_ns;
  next_publish_ns_ = start_ns + p99_publish_ns;
  for (Connection& c : conns_) pump(c);
  uint64_t drain_deadline = UINT64_MAX;
  for (;;) {
    run_due_timers();
    if (now_ >= next_tick_ns_) tick();
    if (phase_ == Phase::running && now_ >= stop_ns_) {
      phase_ = Phase::draining;
      drain_deadline = now_ + plan_.timeout_ns;
    }
    if (phase_ == Phase::draining && (inflight_ == 0 || now_ >= drain_deadline)) break;
    uint64_t deadline = std::min(next_tick_ns_, phase_ == Phase::running ? stop_ns_
                                                                          : drain_deadline);
    if (!heap_.empty()) deadline = std::min(deadline, heap_.front().due_ns);
    // Open loop: replies carry their kernel arrival time, so unless a connection waits on
    // one to send a request already due, they are read at the next send time rather than
    // each waking the loop (wait_nr = the CQ size never comes; the deadline does).
    const bool lazy = phase_ == Phase::running && plan_.rate > 0 && rx_stamps_ &&
                      late_count_ == 0;
    turn(deadline, lazy ? cq_entries_ : 1);
  }
  // What is still in flight after the drain never got an answer in time.
  for (Connection& c : conns_) {
    const uint32_t lost = c.pacer.drop_inflight();
    stats_.count_error(ErrorKind::timeout, lost);
    inflight_ -= lost;
    stats_.missed += c.pacer.missed(stop_ns_);
  }
  ids_error_ = ids_.flush();
  progress_->responses.store(stats_.responses, std::memory_order_relaxed);
  progress_->errors.store(stats_.error_total(), std::memory_order_relaxed);
}

void Worker::turn(uint64_t deadline_ns, unsigned wait_nr) noexcept {
  io_uring_cqe* cqe = nullptr;
  const uint64_t wait_ns = deadline_ns > now_ ? deadline_ns - now_ : 0;
  __kernel_timespec ts{};
  ts.tv_sec = static_cast<long long>(wait_ns / 1'000'000'000u);
  ts.tv_nsec = static_cast<long long>(wait_ns % 1'000'000'000u);
  const int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, wait_nr, &ts, nullptr);
  // -ETIME: the timer came first; -EINTR: a signal; -EBUSY/-EAGAIN: the CQ is backed up
  // and is drained below before the next submit.
  BR_ASSERT(rc >= 0 || rc == -ETIME || rc == -EINTR || rc == -EBUSY || rc == -EAGAIN);
  now_ = base::monotonic_ns();
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    dispatch(cqe);
    seen++;
  }
  io_uring_cq_advance(&ring_, seen);
}

io_uring_sqe* Worker::get_sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe == nullptr) {  // SQ full: hand it to the kernel and take a fresh slot
    (void)io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  BR_ASSERT(sqe != nullptr);
  return sqe;
}

void Worker::push_due(Connection& c) noexcept {
  if (c.in_heap) return;
  BR_ASSERT(heap_.size() < heap_.capacity());
  c.in_heap = true;
  heap_.push_back(Due{c.pacer.next_due_ns(), index_of(c)});
  std::push_heap(heap_.begin(), heap_.end(), later);
}

void Worker::run_due_timers() noexcept {
  while (!heap_.empty() && heap_.front().due_ns <= now_ + plan_.batch_ns) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    Connection& c = conns_[heap_.back().index];
    heap_.pop_back();
    c.in_heap = false;
    pump(c);
  }
}

void Worker::tick() noexcept {
  next_tick_ns_ = now_ + tick_ns;
  if (phase_ == Phase::running && plan_.interrupted != nullptr &&
      plan_.interrupted->load(std::memory_order_relaxed)) {
    stop_ns_ = std::min(stop_ns_, now_);  // the run loop drains from here
  }
  realtime_offset_ns_ = base::realtime_offset_ns();
  for (Connection& c : conns_) {
    if (c.state == State::open && c.pacer.inflight() > 0 &&
        now_ - c.pacer.oldest_issue_ns() >= plan_.timeout_ns) {
      fail(c, ErrorKind::timeout);
    } else if (c.state == State::connecting && now_ - c.connect_ns >= plan_.timeout_ns) {
      fail(c, ErrorKind::connect);
    } else if (c.state == State::closed && phase_ == Phase::running && c.retry_ns <= now_) {
      start_connect(c);
    }
  }
  progress_->responses.store(stats_.responses, std::memory_order_relaxed);
  progress_->errors.store(stats_.error_total(), std::memory_order_relaxed);
  if (plan_.live && now_ >= next_publish_ns_) {  // a scan of the whole histogram
    next_publish_ns_ = now_ + p99_publish_ns;
    progress_->p99_ns.store(histogram_.value_at_percentile(99), std::memory_order_relaxed);
  }
}

void Worker::set_late(Connection& c, bool late) noexcept {
  if (c.late == late) return;
  c.late = late;
  if (late) {
    late_count_++;
  } else {
    BR_ASSERT(late_count_ > 0);
    late_count_--;
  }
}

uint32_t Worker::index_of(const Connection& c) const noexcept {
  const auto index = &c - conns_.data();
  BR_ASSERT(index >= 0 && static_cast<size_t>(index) < conns_.size());
  return static_cast<uint32_t>(index);
}

}  // namespace busyring::load
