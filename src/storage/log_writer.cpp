// Group-commit log writer: the batches, and the narrow loop interface over them and the two
// helper state machines (segment_preparer.h, void_queue.h). See log_writer.h.
#include "busyring/storage/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "busyring/base/align.h"
#include "busyring/base/assert.h"
#include "busyring/base/log.h"
#include "busyring/storage/fault_hook.h"
#include "busyring/storage/record.h"
#include "busyring/storage/segment.h"
#include "busyring/storage/segment_ledger.h"

namespace busyring::storage {
namespace {

constexpr uint32_t kZeroChunkBytes = 256 * 1024;
constexpr uint32_t kMarkerBlockBytes = 4096;  // >= any DIO offset alignment we accept

std::string err(int neg_errno) { return std::strerror(-neg_errno); }

}  // namespace

LogWriter::~LogWriter() {
  if (buffers_ != nullptr) {
    for (uint32_t i = 0; i < options_.buffer_count; ++i) {
      const int fd = buffers_[i].fd;
      if (fd < 0 || fd == current_fd_) continue;
      close(fd);
      for (uint32_t j = i; j < options_.buffer_count; ++j)
        if (buffers_[j].fd == fd) buffers_[j].fd = -1;
    }
    delete[] buffers_;
  }
  if (current_fd_ >= 0) close(current_fd_);
  if (dir_fd_ >= 0) close(dir_fd_);
  if (ledger_fd_ >= 0) close(ledger_fd_);
  if (memory_ != nullptr) free_aligned(memory_, memory_bytes_);
}

base::Status LogWriter::open(const WriterOptions& options, AppendPosition start, const SummaryBuilder& resumed) {
  options_ = options;
  if (fault_planted(PlantedBug::no_flush)) options_.dsync = false;  // busyring-faulty only
  BR_ASSERT(options_.buffer_count >= 2);
  BR_ASSERT(options_.max_in_flight >= 1 && options_.max_in_flight < options_.buffer_count);
  BR_ASSERT(options_.max_in_flight <= VoidQueue::kCapacity);
  const uint64_t biggest = record_bytes(options_.max_record_body);
  options_.buffer_bytes = static_cast<uint32_t>(
      base::align_up(std::max<uint64_t>(options_.buffer_bytes, biggest), 4096));
  if (options_.segment_size < 2ull * options_.buffer_bytes)
    return base::Error{"--segment-size must be at least twice the write buffer (" +
                       std::to_string(2ull * options_.buffer_bytes) + " bytes for this --max-body)"};
  if (auto st = open_segments(start); !st) return st;

  const size_t record_bytes_total = static_cast<size_t>(options_.buffer_bytes) * options_.buffer_count;
  memory_bytes_ = record_bytes_total + kZeroChunkBytes + kMarkerBlockBytes;
  memory_ = static_cast<uint8_t*>(alloc_aligned(memory_bytes_));
  if (memory_ == nullptr) return base::Error{"out of memory for log buffers"};
  buffers_ = new (std::nothrow) Buffer[options_.buffer_count];
  if (buffers_ == nullptr) return base::Error{"out of memory for log buffers"};
  for (uint32_t i = 0; i < options_.buffer_count; ++i)
    buffers_[i].base = memory_ + static_cast<size_t>(i) * options_.buffer_bytes;
  start_buffer(0, current_fd_, current_segment_, start.offset);

  PreparerOptions po;
  po.dir = options_.dir;
  po.dir_fd = dir_fd_;
  po.segment_bytes = options_.segment_size;
  po.zeros = memory_ + record_bytes_total;
  po.zero_bytes = kZeroChunkBytes;
  po.zero_buffer_index = static_cast<int>(options_.buffer_count);
  po.ledger_fd = ledger_fd_;
  po.shard = options_.shard;
  preparer_.init(po);
  voids_.init(options_.dir, options_.dsync, align_, memory_ + record_bytes_total + kZeroChunkBytes);
  summaries_.init(options_.dir, dir_fd_);
  if (start.offset > 0 && resumed.segment() == start.segment) {
    building_ = resumed;
  } else {
    building_.reset(start.segment);
    if (start.offset > 0) building_.abandon();
  }
  // Ids come in runs of --id-block: a segment of small records from many shards needs a few
  // thousand spans. Reserved now so that noting a record does not allocate.
  building_.reserve(4096);

  // A segment after ours already exists: it was prepared (renamed into place only once zeroed
  // and fsynced) and recovery found nothing in it. Opened now, at start-up, for the switch.
  const std::string next = segment_path(options_.dir, current_segment_ + 1);
  struct stat st {};
  if (stat(next.c_str(), &st) == 0) {
    const int fd = open_segment(next, false);
    if (fd < 0) return base::Error{"cannot open " + next + ": " + err(fd)};
    preparer_.adopt(current_segment_ + 1, fd, static_cast<uint64_t>(st.st_size));
  }
  return base::ok_status();
}

// The shard directory, the segment to append to (created zero-filled if missing), and the
// filesystem's direct-I/O alignment.
base::Status LogWriter::open_segments(AppendPosition start) {
  int rc = make_dirs(options_.dir);
  if (rc < 0) return base::Error{"cannot create " + options_.dir + ": " + err(rc)};
  if (!options_.ledger_data_dir.empty()) {
    ledger_fd_ = open_ledger(options_.ledger_data_dir);
    if (ledger_fd_ < 0)
      return base::Error{"cannot open " + ledger_path(options_.ledger_data_dir) + ": " + err(ledger_fd_)};
  }
  const std::string path = segment_path(options_.dir, start.segment);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    rc = create_segment_sync(path, options_.segment_size);
    if (rc < 0) return base::Error{"cannot create " + path + ": " + err(rc)};
    if (stat(path.c_str(), &st) != 0) return base::Error{"cannot stat " + path + ": " + err(-errno)};
  }
  // Created now or before (a crash may have come between creating it and recording it): in
  // the ledger before any record goes in.
  if (ledger_fd_ >= 0 && (rc = append_ledger_sync(ledger_fd_, options_.shard, start.segment)) < 0)
    return base::Error{"cannot write " + ledger_path(options_.ledger_data_dir) + ": " + err(rc)};
  DioAlign align;
  rc = dio_alignment(path, align);
  if (rc < 0)
    return base::Error{"the filesystem of " + options_.dir +
                       " does not support O_DIRECT (" + err(rc) + "); use --data-dir on ext4 or xfs"};
  align_ = std::max<uint32_t>(align.offset, 8);
  BR_ASSERT(base::is_pow2(align_) && align.memory <= 4096 && align_ <= kMarkerBlockBytes);
  segment_bytes_ = static_cast<uint64_t>(st.st_size);
  current_segment_ = start.segment;
  BR_ASSERT(start.offset % align_ == 0 && start.offset < segment_bytes_);
  current_fd_ = open_segment(path, false);
  if (current_fd_ < 0) return base::Error{"cannot open " + path + ": " + err(current_fd_)};
  dir_fd_ = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) return base::Error{"cannot open " + options_.dir + ": " + err(-errno)};
  return base::ok_status();
}

int LogWriter::register_buffers(io_uring* ring) {
  iovec iov[17];
  BR_ASSERT(options_.buffer_count + 1 <= 17);
  for (uint32_t i = 0; i < options_.buffer_count; ++i)
    iov[i] = {buffers_[i].base, options_.buffer_bytes};
  iov[options_.buffer_count] = {memory_ + static_cast<size_t>(options_.buffer_bytes) * options_.buffer_count,
                                kZeroChunkBytes};
  return io_uring_register_buffers(ring, iov, options_.buffer_count + 1);
}

void LogWriter::start_buffer(uint64_t seq, int fd, uint32_t segment, uint64_t offset) noexcept {
  Buffer& b = buf(seq);
  b.used = 0;
  b.records = 0;
  b.file_offset = offset;
  b.capacity = static_cast<uint32_t>(std::min<uint64_t>(options_.buffer_bytes, segment_bytes_ - offset));
  b.fd = fd;
  b.segment = segment;
  b.res = 0;
  b.done = false;
}

// Closes the filling batch and starts the next one right after it (aligned). False if every
// buffer is taken.
bool LogWriter::seal_filling() noexcept {
  if (filling_ + 1 - released_ >= options_.buffer_count) return false;
  const Buffer& f = buf(filling_);
  const uint64_t next = f.file_offset + base::align_up(f.used, align_);
  ++filling_;
  start_buffer(filling_, current_fd_, current_segment_, std::min(next, segment_bytes_));
  return true;
}

// The filling batch moves to the prepared segment, whose descriptor the preparer hands over.
bool LogWriter::switch_segment() noexcept {
  if (!preparer_.ready()) {
    if (!segment_blocked_) ++segment_waits_;
    segment_blocked_ = true;
    return false;
  }
  BR_ASSERT(preparer_.ready_index() == current_segment_ + 1);
  const SegmentPreparer::Prepared next = preparer_.take();
  const int old_fd = current_fd_;
  current_fd_ = next.fd;
  retire_fd(old_fd);
  ++current_segment_;
  segment_bytes_ = next.bytes;
  segment_blocked_ = false;
  start_buffer(filling_, current_fd_, current_segment_, 0);
  return true;
}

// Closes a segment fd no longer needed by any unreleased batch.
void LogWriter::retire_fd(int fd) noexcept {
  if (fd < 0 || fd == current_fd_) return;
  for (uint64_t s = released_; s <= filling_; ++s)
    if (buf(s).fd == fd && (s < filling_ || buf(s).used > 0)) return;
  close(fd);
  for (uint32_t i = 0; i < options_.buffer_count; ++i)
    if (buffers_[i].fd == fd) buffers_[i].fd = -1;  // never closed twice
}

AppendStatus LogWriter::append(uint64_t id, uint64_t arrival_ns, const void* body,
                               uint32_t body_bytes, uint64_t& batch) noexcept {
  if (!voids_.empty()) return AppendStatus::unavailable;
  BR_ASSERT(body_bytes <= options_.max_record_body);
  const size_t rec = record_bytes(body_bytes);
  if (buf(filling_).used + rec > buf(filling_).capacity) {
    if (buf(filling_).used > 0 && !seal_filling()) return AppendStatus::busy;
    if (rec > buf(filling_).capacity && !switch_segment())
      return preparer_.error() != 0 ? AppendStatus::unavailable : AppendStatus::busy;
  }
  Buffer& f = buf(filling_);
  BR_ASSERT(f.used + rec <= f.capacity);
  encode_record(f.base + f.used, RecordKind::usage, id, arrival_ns, body, body_bytes);
  f.used += static_cast<uint32_t>(rec);
  ++f.records;
  batch = filling_;
  return AppendStatus::ok;
}

AppendStatus LogWriter::reserve(size_t bytes, uint8_t*& dst) noexcept {
  if (!voids_.empty()) return AppendStatus::unavailable;
  BR_ASSERT(bytes > 0 && bytes <= options_.buffer_bytes && bytes % kRecordAlign == 0);
  if (buf(filling_).used + bytes > buf(filling_).capacity) {
    if (buf(filling_).used > 0 && !seal_filling()) return AppendStatus::busy;
    if (bytes > buf(filling_).capacity && !switch_segment())
      return preparer_.error() != 0 ? AppendStatus::unavailable : AppendStatus::busy;
  }
  Buffer& f = buf(filling_);
  BR_ASSERT(f.used + bytes <= f.capacity);
  dst = f.base + f.used;
  return AppendStatus::ok;
}

void LogWriter::commit(size_t bytes, uint32_t records, uint64_t& batch) noexcept {
  Buffer& f = buf(filling_);
  BR_ASSERT(f.used + bytes <= f.capacity);
  f.used += static_cast<uint32_t>(bytes);
  f.records += records;
  batch = filling_;
}

void LogWriter::submit(SqeSink& sink, uint64_t now_ns) noexcept {
  while (write_ready(now_ns)) submit_write(sink);
  const bool void_was_in_flight = voids_.in_flight();
  voids_.submit(sink, now_ns);
  if (voids_.in_flight() && !void_was_in_flight) ++cqes_in_flight_;
  const bool summary_was_in_flight = summaries_.in_flight();
  summaries_.submit(sink);
  if (summaries_.in_flight() && !summary_was_in_flight) ++cqes_in_flight_;
  if (wants_next_segment() || preparer_.busy()) {
    const bool prep_was_in_flight = preparer_.in_flight();
    preparer_.submit(sink, current_segment_ + 1, now_ns);
    if (preparer_.in_flight() && !prep_was_in_flight) ++cqes_in_flight_;
  }
}

// Group commit: a write may start when there is room in flight and records wait.
bool LogWriter::write_ready(uint64_t now_ns) noexcept {
  if (!voids_.empty()) return false;
  const uint64_t in_flight = submitted_ - released_;
  if (in_flight >= options_.max_in_flight) return false;
  if (submitted_ < filling_) return true;  // a sealed batch waits
  const Buffer& f = buf(filling_);
  if (f.used == 0) return false;
  if (options_.write_delay_ns != 0) {
    if (waiting_since_ns_ == 0) waiting_since_ns_ = now_ns;
    return f.used >= options_.write_delay_bytes || now_ns >= waiting_since_ns_ + options_.write_delay_ns;
  }
  if (in_flight == 0) return true;
  // Overlapping writes: each waits for a minimum batch, so flushes stay large.
  return f.records >= options_.min_batch_records;
}

uint64_t LogWriter::next_write_ns() const noexcept {
  if (options_.write_delay_ns == 0 || waiting_since_ns_ == 0) return UINT64_MAX;
  // No write could start: a completion (which wakes the loop anyway) must come first.
  if (!voids_.empty() || submitted_ - released_ >= options_.max_in_flight) return UINT64_MAX;
  return waiting_since_ns_ + options_.write_delay_ns;
}

// Seals the oldest waiting batch and queues its write (and, with dsync, the fdatasync linked
// after it, in the same submission).
void LogWriter::submit_write(SqeSink& sink) noexcept {
  if (submitted_ == filling_) {
    // write_ready() allowed fewer writes in flight than buffers, so one is free to fill next.
    const bool sealed = seal_filling();
    BR_ASSERT(sealed);
  }
  waiting_since_ns_ = 0;  // the next write-behind wait starts with the records after these
  Buffer& b = buf(submitted_);
  BR_ASSERT(b.used > 0);
  const uint32_t len = static_cast<uint32_t>(base::align_up(b.used, align_));
  std::memset(b.base + b.used, 0, len - b.used);
  const uint64_t batch = submitted_++;
  sink.reserve(sqes_per_write());
  io_uring_sqe* w = sink.sqe(LogOp::write, batch);
  io_uring_prep_write_fixed(w, b.fd, b.base, len, b.file_offset, static_cast<int>(batch % options_.buffer_count));
  if (options_.dsync) {
    // The link makes the fdatasync start after the write, and fail (-ECANCELED) if it fails.
    io_uring_sqe* f = sink.sqe(LogOp::sync, batch);
    if (!fault_planted(PlantedBug::unlinked_flush)) w->flags |= IOSQE_IO_LINK;
    if (options_.skip_write_cqe) w->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_prep_fsync(f, b.fd, IORING_FSYNC_DATASYNC);
  }
  cqes_in_flight_ += cqes_per_write();
}

// The next segment is prepared once the current one is half full, or at once when it is full.
bool LogWriter::wants_next_segment() const noexcept {
  if (preparer_.ready()) return false;
  const Buffer& f = buf(filling_);
  return segment_blocked_ || f.file_offset + f.used >= segment_bytes_ / 2;
}

void LogWriter::on_complete(LogOp op, uint64_t seq, int res, uint64_t now_ns) noexcept {
  BR_ASSERT(cqes_in_flight_ > 0);
  --cqes_in_flight_;
  switch (op) {
    case LogOp::write: on_write(seq, res); return;
    case LogOp::sync: on_sync(seq, res); return;
    case LogOp::prepare:
      preparer_.on_complete(seq, res, now_ns);
      if (preparer_.ready()) segment_blocked_ = false;  // the next append switches to it
      return;
    case LogOp::void_mark: voids_.on_complete(seq, res, now_ns); return;
    case LogOp::summary: summaries_.on_complete(seq, res); return;
  }
  BR_ASSERT(false);
}

void LogWriter::on_write(uint64_t batch, int res) noexcept {
  BR_ASSERT(batch >= released_ && batch < submitted_);
  Buffer& b = buf(batch);
  BR_ASSERT(!b.done);
  const auto len = static_cast<int>(base::align_up(b.used, align_));
  if (options_.dsync && !options_.skip_write_cqe) {
    b.write_res = res;  // complete once the fdatasync says so
    return;
  }
  // Without dsync the write is all; with skip_write_cqe only a failed write posts its CQE, and
  // its cancelled fdatasync posts none: either way the batch is done.
  complete(b, fault_filter(res, static_cast<uint32_t>(len)));
}

void LogWriter::on_sync(uint64_t batch, int res) noexcept {
  BR_ASSERT(options_.dsync);
  BR_ASSERT(batch >= released_ && batch < submitted_);
  Buffer& b = buf(batch);
  BR_ASSERT(!b.done);
  const auto len = static_cast<int>(base::align_up(b.used, align_));
  // Without the write's CQE (skip_write_cqe), a completed fdatasync means the write succeeded.
  const int write_res = fault_filter(options_.skip_write_cqe ? len : b.write_res, static_cast<uint32_t>(len));
  res = fault_filter_sync(res);
  // A failed write cancels its fdatasync; report the write's own error then.
  complete(b, write_res != len ? write_res : (res == 0 ? len : res));
}

void LogWriter::complete(Buffer& b, int res) noexcept {
  const auto len = static_cast<int>(base::align_up(b.used, align_));
  b.done = true;
  b.res = res == len ? 0 : (res < 0 ? res : -EIO);
  if (b.res == 0) return;
  // A failed write is never retried as if the data were safe (after a failed O_DSYNC write
  // the page cache may hold what the disk does not: PostgreSQL's fsync lesson). Its requests
  // get 503; since some of its bytes may have reached the disk anyway, it is voided on disk
  // (void_queue.h). Until that marker is on disk nothing more is written or acknowledged;
  // batches already gathered behind the failed one keep their offsets and are written after it.
  BR_LOG_ERROR("log: write of %d bytes at %s segment %u offset %llu failed: %s; its %u records "
               "are answered 503 and voided on disk before writing resumes",
               len, options_.dir.c_str(), b.segment, static_cast<unsigned long long>(b.file_offset),
               res < 0 ? std::strerror(-res) : "short write", b.records);
  voids_.push(VoidRange{b.segment, b.file_offset, b.file_offset + static_cast<uint64_t>(len)});
}

bool LogWriter::pop_done(WriteDone& done) noexcept {
  if (released_ >= submitted_ || !buf(released_).done) return false;
  const Buffer& b = buf(released_);
  note_summary(b);
  done.batch = released_;
  done.res = b.res;
  done.records = b.records;
  done.bytes = static_cast<uint32_t>(base::align_up(b.used, align_));
  const int fd = b.fd;
  ++released_;
  retire_fd(fd);
  return true;
}

// A done batch's records go into its segment's summary. The first batch of the next segment
// seals the one before: every batch of it is done (batches pop in order), and any failed write
// in it was voided before later batches were written.
void LogWriter::note_summary(const Buffer& b) noexcept {
  if (b.segment != building_.segment()) {
    if (building_.complete()) summaries_.push(building_.finish());
    building_.reset(b.segment);
  }
  if (b.res != 0) return;  // voided on disk: not in the segment
  for (uint32_t pos = 0; pos < b.used;) {
    RecordHeader h;
    std::memcpy(&h, b.base + pos, sizeof h);
    const auto bytes = static_cast<uint32_t>(record_bytes(h.body_bytes));
    building_.add(h.id, b.file_offset + pos, bytes);
    pos += bytes;
  }
}

bool LogWriter::idle() const noexcept {
  if (released_ != submitted_ || !voids_.empty() || !summaries_.idle()) return false;
  return submitted_ == filling_ && buf(filling_).used == 0;
}

const char* LogWriter::health_reason() const noexcept {
  if (!voids_.empty()) return "a log write failed; voiding it on disk before writing resumes";
  const int error = preparer_.error();
  if (segment_blocked_ && error == -ENOSPC) return "the disk is full: no room for the next log segment";
  if (segment_blocked_ && error != 0) return "cannot create the next log segment";
  if (segment_blocked_) return "waiting for the next log segment";
  return "ok";
}

}  // namespace busyring::storage
