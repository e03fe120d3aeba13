// The seam between the log's state machines and a ring they do not own. Storage preps the SQEs
// it is handed and takes their results back; whoever owns the ring (a shard's loop, or a test's
// fake sink) submits them and routes each completion back by the (op, seq) it was asked for.
#pragma once

#include <liburing.h>

#include <cstdint>

namespace busyring::storage {

// Which of the log's state machines an SQE belongs to: its completion goes back there.
enum class LogOp : uint8_t {
  write,      // a batch's write; seq = the batch
  sync,       // the fdatasync linked behind it; seq = the batch
  prepare,    // one step of preparing the next segment; seq = the step's number
  void_mark,  // one step of voiding a failed write on disk; seq = the step's number
  summary,    // one step of writing a sealed segment's summary; seq = the step's number
};

class SqeSink {
 public:
  // A free SQE whose completion will come back as (op, seq). Its user_data is already set:
  // liburing's io_uring_prep_* functions set every field but user_data, so prep it, then set
  // IOSQE_* flags (prep clears them).
  virtual io_uring_sqe* sqe(LogOp op, uint64_t seq) noexcept = 0;
  // Makes room for `count` SQEs in the same submission (a write and its linked fdatasync must
  // not be split across two).
  virtual void reserve(uint32_t count) noexcept = 0;

 protected:
  ~SqeSink() = default;
};

}  // namespace busyring::storage
