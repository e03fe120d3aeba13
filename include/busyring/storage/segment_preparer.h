// Prepares a shard's next log segment through the shard's ring, one step in flight at a time,
// so that the loop thread never blocks on the filesystem (open, allocation, rename and unlink
// run in the kernel's io-wq workers):
//
//   idle -> open (OPENAT seg-N.log.tmp) -> allocate (FALLOCATE) -> zero (WRITE_FIXED, chunks)
//        -> sync (FSYNC file) -> rename (RENAMEAT .tmp -> seg-N.log) -> sync_dir (FSYNC dir)
//        -> record (WRITE "SHARD N" to the segment ledger) -> sync_record (FSYNC it, datasync)
//        -> ready (its descriptor kept) -> take() -> idle          (record steps: with a ledger)
//   a step failing before the rename -> unlink (UNLINKAT .tmp) -> idle; after it -> idle (the
//   next attempt builds the unused segment again and records it again)
//   idle after a failure: the next attempt starts a second later (a full disk is retried)
//
// A segment file that exists under its final name is always complete: zero-filled and fsynced
// before the rename, the rename made durable by the directory's fsync. The descriptor it was
// created with is handed to the writer, so switching segments opens nothing either.
#pragma once

#include <cstdint>
#include <string>

#include "busyring/storage/sqe_sink.h"

namespace busyring::storage {

struct PreparerOptions {
  std::string dir;       // the shard directory
  int dir_fd = -1;       // the same, opened by the caller and kept open while this lives
  uint64_t segment_bytes = 0;
  const uint8_t* zeros = nullptr;  // a zero-filled buffer registered with the ring...
  uint32_t zero_bytes = 0;
  int zero_buffer_index = 0;       // ... at this index (write_fixed)
  int ledger_fd = -1;              // DATA_DIR/segments, O_APPEND (segment_ledger.h); -1: none
  uint32_t shard = 0;              // for the ledger's line
};

class SegmentPreparer {
 public:
  struct Prepared {
    int fd = -1;         // open for O_DIRECT writes; the caller owns it from take() on
    uint64_t bytes = 0;  // the file's size
  };

  SegmentPreparer() = default;
  SegmentPreparer(const SegmentPreparer&) = delete;
  SegmentPreparer& operator=(const SegmentPreparer&) = delete;
  ~SegmentPreparer();

  void init(const PreparerOptions& options) noexcept;
  // At start-up: segment `index` exists already (prepared before a restart), opened by the
  // caller. The preparer owns fd from here on and is ready.
  void adopt(uint32_t index, int fd, uint64_t bytes) noexcept;

  // Queues the next step of preparing segment `index`, if one may start now: none is in
  // flight, the segment is not ready yet, and a failed attempt is a second old.
  void submit(SqeSink& sink, uint32_t index, uint64_t now_ns) noexcept;
  // The completion of the step named `seq`.
  void on_complete(uint64_t seq, int res, uint64_t now_ns) noexcept;

  bool ready() const noexcept { return step_ == Step::ready; }
  uint32_t ready_index() const noexcept { return index_; }
  // The ready segment; the preparer is idle afterwards.
  Prepared take() noexcept;
  bool in_flight() const noexcept { return in_flight_; }
  // An attempt is under way (a step in flight, or the next one due): keep calling submit().
  bool busy() const noexcept { return step_ != Step::idle && step_ != Step::ready; }
  // The last attempt's failure (-errno; a short zero write counts as -ENOSPC), 0 once a
  // segment was prepared after it.
  int error() const noexcept { return error_; }

 private:
  enum class Step : uint8_t { idle, open, allocate, zero, sync, rename, sync_dir, record, sync_record, ready, unlink };
  static const char* step_name(Step s) noexcept;
  void start(uint32_t index) noexcept;
  void prep(io_uring_sqe* sqe) noexcept;
  void advance() noexcept;
  void fail(int res, uint64_t now_ns) noexcept;
  void close_fd() noexcept;

  PreparerOptions options_;
  Step step_ = Step::idle;
  bool in_flight_ = false;
  uint32_t index_ = 0;
  int fd_ = -1;
  uint64_t bytes_ = 0;      // the segment's size
  uint64_t zeroed_ = 0;     // bytes of zeros written so far
  uint32_t chunk_ = 0;      // the zero write in flight
  uint64_t seq_ = 0;        // names each step's SQE; its completion must name the same
  uint64_t retry_ns_ = 0;   // after a failure: no attempt before this
  int error_ = 0;
  std::string path_;        // seg-N.log, and the name it is built under (kept until the
  std::string tmp_path_;    // kernel has read them: OPENAT, RENAMEAT and UNLINKAT take paths)
  char ledger_line_[24] = {};  // the ledger write's bytes, kept until it completes
  uint32_t ledger_bytes_ = 0;
};

}  // namespace busyring::storage
