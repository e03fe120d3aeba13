// The shard's port to its log writer; see log_port.h.
#include "log_port.h"

#include "busyring/net/ring.h"
#include "user_data.h"

namespace busyring::net {

io_uring_sqe* RingSink::sqe(storage::LogOp op, uint64_t seq) noexcept {
  Op o = Op::none;
  switch (op) {
    case storage::LogOp::write: o = Op::log_write; break;
    case storage::LogOp::sync: o = Op::log_sync; break;
    case storage::LogOp::prepare: o = Op::log_prepare; break;
    case storage::LogOp::void_mark: o = Op::log_void; break;
    case storage::LogOp::summary: o = Op::log_summary; break;
  }
  BR_ASSERT(o != Op::none);
  io_uring_sqe* s = get_sqe(ring_);
  io_uring_sqe_set_data64(s, encode_seq(o, seq));
  return s;
}

void RingSink::reserve(uint32_t count) noexcept {
  if (io_uring_sq_space_left(ring_) < count) io_uring_submit(ring_);
}

void LogPort::init(uint64_t capacity) {
  uint64_t n = 1;
  while (n < capacity) n <<= 1;
  waiters_.resize(n);
  mask_ = n - 1;
}

void LogPort::submit(storage::SqeSink& sink, uint64_t now_ns) noexcept {
  const uint64_t first = log_.batches_submitted();
  log_.submit(sink, now_ns);
  BR_ASSERT(log_.batches_in_flight() <= kBatchSlots);  // a slot per batch in flight
  for (uint64_t b = first; b < log_.batches_submitted(); ++b) batch_submit_ns_[b % kBatchSlots] = now_ns;
}

void LogPort::count(const storage::WriteDone& done, uint64_t now_ns) noexcept {
  metrics_.observe_write_latency_us((now_ns - batch_submit_ns_[done.batch % kBatchSlots]) / 1000);
  if (done.res == 0) {
    metrics::bump(metrics_.records_written, done.records);
    metrics::bump(metrics_.bytes_written, done.bytes);
    metrics::bump(metrics_.flushes);
    metrics_.observe_flush(done.records);
  } else {
    metrics::bump(metrics_.flush_failures);
  }
}

}  // namespace busyring::net
