// A shard's port to its log writer: the log's SQEs go on the shard's ring (RingSink names each
// with the Op the shard dispatches on); responses that wait for a batch wait here, in append
// order (the waiter FIFO); and when batches complete, the port counts them (records, bytes,
// flushes, write latency) and releases their waiters, oldest first. The writer itself knows
// nothing of connections, and the shard nothing of batches.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <vector>

#include "busyring/base/assert.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/storage/log_writer.h"
#include "busyring/storage/sqe_sink.h"

namespace busyring::net {

// The log's SQEs on a ring, user_data encoded as the shard's codec wants (user_data.h).
class RingSink final : public storage::SqeSink {
 public:
  explicit RingSink(io_uring* ring) noexcept : ring_(ring) {}
  io_uring_sqe* sqe(storage::LogOp op, uint64_t seq) noexcept override;
  void reserve(uint32_t count) noexcept override;

 private:
  io_uring* ring_;
};

class LogPort {
 public:
  // A response waiting for its record's batch: pipeline entry `seq` of the connection in
  // `slot`, generation `gen` (a waiter outliving its connection is dropped on release).
  struct Waiter {
    uint64_t batch = 0;
    uint32_t slot = 0;
    uint32_t gen = 0;
    uint32_t seq = 0;
  };

  LogPort(storage::LogWriter& log, metrics::ShardMetrics& metrics) noexcept : log_(log), metrics_(metrics) {}

  // Room for `capacity` waiters (rounded up to a power of two): every record the log's
  // buffers can hold.
  void init(uint64_t capacity);

  void await(const Waiter& w) noexcept {
    BR_ASSERT(tail_ - head_ <= mask_);
    waiters_[tail_++ & mask_] = w;
  }

  // Queues every log operation that may start now (writes, segment preparation, void markers).
  void submit(storage::SqeSink& sink, uint64_t now_ns) noexcept;

  // A CQE of the log's. For each batch it completes, in order: its metrics, then
  // released(waiter, res) for each waiter of that batch in append order (res 0: written).
  template <typename Released>
  void on_complete(storage::LogOp op, uint64_t seq, int res, uint64_t now_ns, Released&& released) noexcept {
    log_.on_complete(op, seq, res, now_ns);
    storage::WriteDone done;
    while (log_.pop_done(done)) {
      count(done, now_ns);
      while (head_ < tail_) {
        const Waiter& w = waiters_[head_ & mask_];
        BR_ASSERT(w.batch >= done.batch);
        if (w.batch != done.batch) break;
        ++head_;
        released(w, done.res);
      }
    }
  }

  // Nothing waits, nothing is being written, and no CQE of the log's is still to come.
  bool idle() const noexcept { return head_ == tail_ && log_.idle() && log_.cqes_in_flight() == 0; }
  uint64_t waiting() const noexcept { return tail_ - head_; }

 private:
  void count(const storage::WriteDone& done, uint64_t now_ns) noexcept;

  storage::LogWriter& log_;
  metrics::ShardMetrics& metrics_;
  std::vector<Waiter> waiters_;  // a ring buffer of mask_ + 1 entries
  uint64_t head_ = 0;
  uint64_t tail_ = 0;
  uint64_t mask_ = 0;
  static constexpr size_t kBatchSlots = 64;  // > log buffers: a batch's submit time, by batch
  uint64_t batch_submit_ns_[kBatchSlots] = {};
};

}  // namespace busyring::net
