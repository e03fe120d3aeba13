// One shard's log writer: group commit of records into registered, DIO-aligned buffers,
// written with IORING_OP_WRITE_FIXED on the shard's ring, and zero-filled segments prepared
// ahead of need on the same ring. The writer only preps SQEs handed to it and takes their
// results back; the shard's loop owns submission and user_data.
//
// Buffers are used round-robin, each a "batch" numbered by a monotonic sequence:
//   free -> filling (records appended) -> sealed -> in flight -> done (results released in order)
// Every write is padded to the offset alignment and the next starts on a fresh aligned offset,
// so no sector holding acknowledged bytes is ever written again.
//
// Segment preparation (next segment, once the current is half full):
//   idle -> zeroing (1 MiB chunks, one in flight) -> fsync file -> fsync dir -> ready
#pragma once

#include <liburing.h>

#include <cstdint>
#include <string>

#include "busyring/base/result.h"
#include "busyring/storage/recovery.h"

namespace busyring::storage {

struct WriterOptions {
  std::string dir;            // the shard directory
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

// Two completion kinds share the writer; the loop tells them apart by its user_data op.
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

  // Opens (creating if needed) the segment at `start`, allocates the buffers. Blocking I/O.
  [[nodiscard]] base::Status open(const WriterOptions& options, AppendPosition start);
  // Registers the record buffers and the zero buffer with the ring.
  [[nodiscard]] int register_buffers(io_uring* ring);

  // Appends a usage record to the filling batch; on ok, `batch` says which write carries it.
  [[nodiscard]] AppendStatus append(uint64_t id, uint64_t arrival_ns, const void* body,
                                    uint32_t body_bytes, uint64_t& batch) noexcept;

  // Group commit: true when a write may start now (room in flight and records waiting).
  // `now_ns` (monotonic) dates the records for write-behind; see next_write_ns().
  bool write_ready(uint64_t now_ns) noexcept;
  // Write-behind: when the records waiting must be written, else UINT64_MAX. The loop sleeps
  // no longer than that.
  uint64_t next_write_ns() const noexcept;
  // SQEs a write needs: the write, plus its linked fdatasync when dsync.
  uint32_t sqes_per_write() const noexcept { return options_.dsync ? 2 : 1; }
  // CQEs a write ends with (see skip_write_cqe): what the loop waits for before it may stop.
  uint32_t cqes_per_write() const noexcept { return options_.dsync && !options_.skip_write_cqe ? 2 : 1; }
  // Seals the oldest waiting batch and preps its write (and, with dsync, the fdatasync linked
  // after it in sync_sqe, which must directly follow sqe in the same submission); returns the
  // batch number.
  uint64_t prep_write(io_uring_sqe* sqe, io_uring_sqe* sync_sqe) noexcept;
  // The result of batch's write, then (dsync) of its fdatasync. With skip_write_cqe the write's
  // result comes only when it failed, and then no fdatasync result follows.
  void on_write(uint64_t batch, int res) noexcept;
  void on_sync(uint64_t batch, int res) noexcept;
  // Pops the oldest finished batch, in batch order; false when it has not finished yet.
  [[nodiscard]] bool pop_done(WriteDone& done) noexcept;

  // After a failed write: the marker that voids it on disk (see log_writer.cpp).
  bool void_ready(uint64_t now_ns) const noexcept;
  void prep_void(io_uring_sqe* sqe) noexcept;
  void on_void(int res, uint64_t now_ns) noexcept;

  // Segment preparation, driven by the loop like writes (at most one op in flight).
  bool prepare_ready(uint64_t now_ns) noexcept;
  void prep_prepare(io_uring_sqe* sqe) noexcept;
  void on_prepare(int res) noexcept;

  bool healthy() const noexcept { return !voiding_ && !segment_blocked_; }
  const char* health_reason() const noexcept;
  uint32_t dio_align() const noexcept { return align_; }
  uint64_t batches_in_flight() const noexcept { return submitted_ - released_; }
  bool idle() const noexcept;  // nothing filling, sealed or in flight

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
  void complete(Buffer& b, int res) noexcept;
  enum class Prep : uint8_t { idle, zeroing, fsync_file, fsync_dir, ready };

  Buffer& buf(uint64_t seq) noexcept { return buffers_[seq % options_.buffer_count]; }
  const Buffer& buf(uint64_t seq) const noexcept { return buffers_[seq % options_.buffer_count]; }
  void start_buffer(uint64_t seq, int fd, uint32_t segment, uint64_t offset) noexcept;
  bool seal_filling() noexcept;
  bool switch_segment() noexcept;
  void retire_fd(int fd) noexcept;
  int begin_prepare() noexcept;

  WriterOptions options_;
  uint32_t align_ = 512;
  uint8_t* memory_ = nullptr;  // buffer_count record buffers, then the zero chunk
  size_t memory_bytes_ = 0;
  Buffer* buffers_ = nullptr;
  uint64_t released_ = 0;   // batches [0, released_) are done and popped
  uint64_t submitted_ = 0;  // batches [released_, submitted_) are in flight or done
  uint64_t filling_ = 0;    // batch being filled; [submitted_, filling_) are sealed
  uint64_t waiting_since_ns_ = 0;  // write-behind: when records were first seen waiting; 0 none
  int current_fd_ = -1;
  uint32_t current_segment_ = 0;
  uint64_t segment_bytes_ = 0;  // size of the current segment file
  // A write failed: appends answer unavailable and writes wait until the markers voiding the
  // failed ranges are on disk. With several writes in flight more than one can fail (a dying
  // disk fails them all): each failed range waits its turn here, oldest first.
  struct VoidRange {
    uint32_t segment = 0;
    uint64_t offset = 0;
    uint64_t end = 0;
  };
  static constexpr uint32_t kMaxVoids = 8;  // >= writes in flight (--log-writes is at most 8)
  VoidRange voids_[kMaxVoids];
  uint32_t void_head_ = 0;
  uint32_t void_count_ = 0;
  bool voiding_ = false;  // void_count_ > 0
  bool void_in_flight_ = false;
  int void_fd_ = -1;
  uint32_t void_fd_segment_ = 0;
  uint64_t void_retry_ns_ = 0;
  uint8_t* void_block_ = nullptr;  // aligned block holding the marker
  bool segment_blocked_ = false;  // the current segment is full and the next is not ready

  Prep prep_ = Prep::idle;
  int prep_fd_ = -1;
  int prep_dir_fd_ = -1;
  uint64_t prep_offset_ = 0;
  uint64_t prep_retry_ns_ = 0;
  int prep_error_ = 0;
  uint32_t prep_chunk_ = 0;
  bool prep_in_flight_ = false;
};

}  // namespace busyring::storage
