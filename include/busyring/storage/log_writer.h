// One shard's log writer: group commit of records into registered, DIO-aligned buffers,
// written with IORING_OP_WRITE_FIXED on the shard's ring. It keeps the batches; two helpers
// keep the rest, each its own state machine: the SegmentPreparer makes the next segment ready
// ahead of need, the VoidQueue voids failed writes on disk. Toward the loop the writer is one
// narrow interface: submit() queues every operation that may start now (writes, preparation
// steps, void markers) into an SqeSink; on_complete() takes each result back; pop_done() hands
// out finished batches in order. The loop owns submission and user_data.
//
// Buffers are used round-robin, each a "batch" numbered by a monotonic sequence:
//   free -> filling (records appended) -> sealed -> in flight -> done (results released in order)
// Every write is padded to the offset alignment and the next starts on a fresh aligned offset,
// so no sector holding acknowledged bytes is ever written again. Once the current segment is
// half full the next one is prepared; a full segment switches to it (its descriptor handed
// over by the preparer, so nothing is opened on the loop thread). Every record written is
// also noted in the segment's summary; once the first batch of the next segment is done, the
// sealed segment's summary goes to the SummaryWriter (written through the ring).
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>

#include "busyring/base/result.h"
#include "busyring/storage/recovery.h"
#include "busyring/storage/segment_preparer.h"
#include "busyring/storage/segment_summary.h"
#include "busyring/storage/summary_writer.h"
#include "busyring/storage/sqe_sink.h"
#include "busyring/storage/void_queue.h"

namespace busyring::storage {

struct WriterOptions {
  std::string dir;            // the shard directory
  // The data dir whose segment ledger (segment_ledger.h) records each segment this writer
  // creates before a record goes into it; empty: no ledger (unit tests of the writer alone).
  std::string ledger_data_dir;
  uint32_t shard = 0;         // this writer's shard number, for the ledger's lines
  uint64_t segment_size = 64ull << 20;
  // Each write is followed by a linked fdatasync: its batch completes once on stable storage.
  // (A linked IORING_OP_FSYNC measured 4x faster here than O_DSYNC through io_uring, whose
  // async completion takes a workqueue detour; see perf/RESULTS.md.)
  bool dsync = true;
  uint32_t max_record_body = 64 * 1024;
  uint32_t buffer_bytes = 512 * 1024;
  uint32_t buffer_count = 4;
  uint32_t max_in_flight = 1;  // writes in flight at once (1 = classic group commit)
  // With a write in flight, another starts only once this many records wait for it.
  uint32_t min_batch_records = 16;
  // dsync: the write SQE carries IOSQE_CQE_SKIP_SUCCESS (kernel 5.17+, IORING_FEAT_CQE_SKIP).
  // A batch then completes with one CQE, not two: the fdatasync's when the write succeeded, or
  // the write's alone when it failed (the kernel then drops the cancelled fdatasync's CQE).
  // One CQE and its dispatch less per durable write (not a wake-up: with DEFER_TASKRUN the
  // write's completion still wakes the loop as task work; see perf/RESULTS.md).
  bool skip_write_cqe = false;
  // Write-behind, for acknowledgements that do not wait for the disk (--ack=memory): a write
  // starts once its records are this old or this many bytes wait, not at once. Fewer, larger
  // writes: each one costs a virtio notify and a completion. 0 writes at once.
  uint64_t write_delay_ns = 0;
  uint32_t write_delay_bytes = 64 * 1024;
};

enum class AppendStatus : uint8_t {
  ok,
  busy,         // every buffer is full or in flight, or the next segment is not ready yet
  unavailable,  // storage failed: a write failed, or no segment can be created
};

// A finished batch, in batch order.
struct WriteDone {
  uint64_t batch = 0;
  int res = 0;  // 0 ok, else -errno (a short write is -EIO)
  uint32_t records = 0;
  uint32_t bytes = 0;  // written, padding included
};

class LogWriter {
 public:
  LogWriter() = default;
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;
  ~LogWriter();

  // At start-up (blocking I/O): opens, creating it if needed, the segment at `start`, and the
  // next one if it was prepared before a restart; allocates the buffers. `resumed`: what
  // recovery found in segment start.segment before start.offset (its summary continues from
  // there; without it, that segment gets no summary from this run).
  [[nodiscard]] base::Status open(const WriterOptions& options, AppendPosition start,
                                  const SummaryBuilder& resumed = SummaryBuilder{});
  // Registers the record buffers and the zero buffer with the ring.
  [[nodiscard]] int register_buffers(io_uring* ring);

  // Appends a usage record to the filling batch; on ok, `batch` says which write carries it.
  [[nodiscard]] AppendStatus append(uint64_t id, uint64_t arrival_ns, const void* body,
                                    uint32_t body_bytes, uint64_t& batch) noexcept;

  // A batch of records written together: reserve() finds `bytes` of room in the filling
  // buffer (sealing it or switching segment first, like append), the caller encodes its
  // records at `dst`, and commit() adds them. All of them are then in one write: durable
  // together or not at all. Nothing changes between reserve() and commit() but what the
  // caller writes at dst; a reservation that is not committed is simply dropped.
  [[nodiscard]] AppendStatus reserve(size_t bytes, uint8_t*& dst) noexcept;
  void commit(size_t bytes, uint32_t records, uint64_t& batch) noexcept;
  // The most bytes one reserve() may ask for: one buffer.
  uint32_t buffer_bytes() const noexcept { return options_.buffer_bytes; }

  // Queues into `sink` every operation that may start now: the group-commit writes (with their
  // linked fdatasync when dsync), the next void marker, the next preparation step. `now_ns`
  // (monotonic) dates records for write-behind and paces retries.
  void submit(SqeSink& sink, uint64_t now_ns) noexcept;
  // The result of an SQE that submit() queued as (op, seq).
  void on_complete(LogOp op, uint64_t seq, int res, uint64_t now_ns) noexcept;
  // Pops the oldest finished batch, in batch order; false when it has not finished yet.
  [[nodiscard]] bool pop_done(WriteDone& done) noexcept;

  // Write-behind: when the records waiting must be written, else UINT64_MAX. The loop sleeps
  // no longer than that.
  uint64_t next_write_ns() const noexcept;
  bool healthy() const noexcept { return voids_.empty() && !segment_blocked_; }
  const char* health_reason() const noexcept;
  uint32_t dio_align() const noexcept { return align_; }
  // Batches submitted so far: [0, batches_submitted()) have been handed to a sink.
  uint64_t batches_submitted() const noexcept { return submitted_; }
  uint64_t batches_in_flight() const noexcept { return submitted_ - released_; }
  // Times the current segment filled before the next was prepared (appends answered busy until it is).
  uint64_t segment_waits() const noexcept { return segment_waits_; }
  // Nothing filling, sealed, in flight, waiting to be voided, or summaries waiting.
  bool idle() const noexcept;
  const SummaryWriter& summaries() const noexcept { return summaries_; }
  // CQEs that submit() has asked for and on_complete() has not seen yet (a write's count
  // depends on skip_write_cqe): the loop must not stop before this is 0.
  uint32_t cqes_in_flight() const noexcept { return cqes_in_flight_; }

 private:
  struct Buffer {
    uint8_t* base = nullptr;
    uint32_t used = 0;       // bytes of records
    uint32_t records = 0;
    uint32_t capacity = 0;   // min(buffer_bytes, room left in the segment)
    uint64_t file_offset = 0;
    int fd = -1;
    uint32_t segment = 0;
    int res = 0;
    int write_res = 0;  // dsync without skip_write_cqe: the write's result, until its fdatasync's
    bool done = false;
  };

  Buffer& buf(uint64_t seq) noexcept { return buffers_[seq % options_.buffer_count]; }
  const Buffer& buf(uint64_t seq) const noexcept { return buffers_[seq % options_.buffer_count]; }
  base::Status open_segments(AppendPosition start);
  void start_buffer(uint64_t seq, int fd, uint32_t segment, uint64_t offset) noexcept;
  bool seal_filling() noexcept;
  bool switch_segment() noexcept;
  void retire_fd(int fd) noexcept;
  bool write_ready(uint64_t now_ns) noexcept;
  void submit_write(SqeSink& sink) noexcept;
  bool wants_next_segment() const noexcept;
  void on_write(uint64_t batch, int res) noexcept;
  void on_sync(uint64_t batch, int res) noexcept;
  void complete(Buffer& b, int res) noexcept;
  void note_summary(const Buffer& b) noexcept;
  uint32_t sqes_per_write() const noexcept { return options_.dsync ? 2 : 1; }
  uint32_t cqes_per_write() const noexcept { return options_.dsync && !options_.skip_write_cqe ? 2 : 1; }

  WriterOptions options_;
  uint32_t align_ = 512;
  uint8_t* memory_ = nullptr;  // buffer_count record buffers, then the zero chunk, then the marker block
  size_t memory_bytes_ = 0;
  Buffer* buffers_ = nullptr;
  uint64_t released_ = 0;   // batches [0, released_) are done and popped
  uint64_t submitted_ = 0;  // batches [released_, submitted_) are in flight or done
  uint64_t filling_ = 0;    // batch being filled; [submitted_, filling_) are sealed
  uint64_t waiting_since_ns_ = 0;  // write-behind: when records were first seen waiting; 0 none
  uint32_t cqes_in_flight_ = 0;
  int dir_fd_ = -1;
  int ledger_fd_ = -1;
  int current_fd_ = -1;
  uint32_t current_segment_ = 0;
  uint64_t segment_bytes_ = 0;  // size of the current segment file
  bool segment_blocked_ = false;  // the current segment is full and the next is not ready
  uint64_t segment_waits_ = 0;     // times segment_blocked_ was set
  SegmentPreparer preparer_;
  VoidQueue voids_;
  SummaryBuilder building_;  // the summary of the segment of the next batch to be popped
  SummaryWriter summaries_;
};

}  // namespace busyring::storage
