// Group-commit log writer; see log_writer.h for the buffer and preparation state machines.
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
#include "busyring/base/clock.h"
#include "busyring/base/log.h"
#include "busyring/storage/record.h"
#include "busyring/storage/fault_hook.h"
#include "busyring/storage/segment.h"

namespace busyring::storage {
namespace {

constexpr uint32_t kZeroChunkBytes = 256 * 1024;
constexpr uint64_t kPrepareRetryNs = 1'000'000'000;

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
  if (prep_fd_ >= 0) close(prep_fd_);
  if (prep_dir_fd_ >= 0) close(prep_dir_fd_);
  if (void_fd_ >= 0) close(void_fd_);
  if (memory_ != nullptr) free_aligned(memory_, memory_bytes_);
}

base::Status LogWriter::open(const WriterOptions& options, AppendPosition start) {
  options_ = options;
  BR_ASSERT(options_.buffer_count >= 2);
  BR_ASSERT(options_.max_in_flight >= 1 && options_.max_in_flight < options_.buffer_count);
  const uint64_t biggest = record_bytes(options_.max_record_body);
  options_.buffer_bytes = static_cast<uint32_t>(
      base::align_up(std::max<uint64_t>(options_.buffer_bytes, biggest), 4096));
  if (options_.segment_size < 2ull * options_.buffer_bytes)
    return base::Error{"--segment-size must be at least twice the write buffer (" +
                       std::to_string(2ull * options_.buffer_bytes) + " bytes for this --max-body)"};
  int rc = make_dirs(options_.dir);
  if (rc < 0) return base::Error{"cannot create " + options_.dir + ": " + err(rc)};
  const std::string path = segment_path(options_.dir, start.segment);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    rc = create_segment_sync(path, options_.segment_size);
    if (rc < 0) return base::Error{"cannot create " + path + ": " + err(rc)};
    if (stat(path.c_str(), &st) != 0) return base::Error{"cannot stat " + path + ": " + err(-errno)};
  }
  DioAlign align;
  rc = dio_alignment(path, align);
  if (rc < 0)
    return base::Error{"the filesystem of " + options_.dir +
                       " does not support O_DIRECT (" + err(rc) + "); use --data-dir on ext4 or xfs"};
  align_ = std::max<uint32_t>(align.offset, 8);
  BR_ASSERT(base::is_pow2(align_) && align.memory <= 4096);
  segment_bytes_ = static_cast<uint64_t>(st.st_size);
  current_segment_ = start.segment;
  BR_ASSERT(start.offset % align_ == 0 && start.offset < segment_bytes_);
  current_fd_ = open_segment(path, false);
  if (current_fd_ < 0) return base::Error{"cannot open " + path + ": " + err(current_fd_)};
  prep_dir_fd_ = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (prep_dir_fd_ < 0) return base::Error{"cannot open " + options_.dir + ": " + err(-errno)};

  memory_bytes_ = static_cast<size_t>(options_.buffer_bytes) * options_.buffer_count + kZeroChunkBytes + 4096;
  memory_ = static_cast<uint8_t*>(alloc_aligned(memory_bytes_));
  if (memory_ == nullptr) return base::Error{"out of memory for log buffers"};
  buffers_ = new (std::nothrow) Buffer[options_.buffer_count];
  if (buffers_ == nullptr) return base::Error{"out of memory for log buffers"};
  for (uint32_t i = 0; i < options_.buffer_count; ++i)
    buffers_[i].base = memory_ + static_cast<size_t>(i) * options_.buffer_bytes;
  void_block_ = memory_ + static_cast<size_t>(options_.buffer_bytes) * options_.buffer_count + kZeroChunkBytes;
  start_buffer(0, current_fd_, current_segment_, start.offset);
  // A segment after ours already exists: it was prepared (renamed into place only once
  // zeroed and fsynced) and recovery found nothing in it.
  if (stat(segment_path(options_.dir, current_segment_ + 1).c_str(), &st) == 0) prep_ = Prep::ready;
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

bool LogWriter::switch_segment() noexcept {
  if (prep_ != Prep::ready) {
    segment_blocked_ = true;
    return false;
  }
  const uint32_t next = current_segment_ + 1;
  const std::string path = segment_path(options_.dir, next);
  struct stat st {};
  const int fd = open_segment(path, false);
  if (fd < 0 || fstat(fd, &st) != 0) {
    if (fd >= 0) close(fd);
    BR_LOG_ERROR("log: cannot open %s: %s", path.c_str(), std::strerror(errno));
    prep_ = Prep::idle;
    prep_error_ = -EIO;
    segment_blocked_ = true;
    return false;
  }
  if (prep_fd_ >= 0) close(prep_fd_);
  prep_fd_ = -1;
  prep_ = Prep::idle;
  const int old_fd = current_fd_;
  current_fd_ = fd;
  retire_fd(old_fd);
  current_segment_ = next;
  segment_bytes_ = static_cast<uint64_t>(st.st_size);
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
  if (voiding_) return AppendStatus::unavailable;
  BR_ASSERT(body_bytes <= options_.max_record_body);
  const size_t rec = record_bytes(body_bytes);
  if (buf(filling_).used + rec > buf(filling_).capacity) {
    if (buf(filling_).used > 0 && !seal_filling()) return AppendStatus::busy;
    if (rec > buf(filling_).capacity && !switch_segment())
      return prep_error_ != 0 ? AppendStatus::unavailable : AppendStatus::busy;
  }
  Buffer& f = buf(filling_);
  BR_ASSERT(f.used + rec <= f.capacity);
  encode_record(f.base + f.used, RecordKind::usage, id, arrival_ns, body, body_bytes);
  f.used += static_cast<uint32_t>(rec);
  ++f.records;
  batch = filling_;
  return AppendStatus::ok;
}

bool LogWriter::write_ready(uint64_t now_ns) noexcept {
  if (voiding_) return false;
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
  if (voiding_ || submitted_ - released_ >= options_.max_in_flight) return UINT64_MAX;
  return waiting_since_ns_ + options_.write_delay_ns;
}

uint64_t LogWriter::prep_write(io_uring_sqe* sqe, io_uring_sqe* sync_sqe) noexcept {
  BR_ASSERT((sync_sqe != nullptr) == options_.dsync);
  BR_ASSERT(!voiding_ && submitted_ - released_ < options_.max_in_flight);  // see write_ready()
  if (submitted_ == filling_) BR_ASSERT(seal_filling());
  waiting_since_ns_ = 0;  // the next write-behind wait starts with the records after these
  Buffer& b = buf(submitted_);
  BR_ASSERT(b.used > 0);
  const uint32_t len = static_cast<uint32_t>(base::align_up(b.used, align_));
  std::memset(b.base + b.used, 0, len - b.used);
  io_uring_prep_write_fixed(sqe, b.fd, b.base, len, b.file_offset,
                            static_cast<int>(submitted_ % options_.buffer_count));
  if (sync_sqe != nullptr) {
    // The link makes the fdatasync start after the write, and fail (-ECANCELED) if it fails.
    sqe->flags |= IOSQE_IO_LINK;
    if (options_.skip_write_cqe) sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_prep_fsync(sync_sqe, b.fd, IORING_FSYNC_DATASYNC);
  }
  return submitted_++;
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
  // get 503; since some of its bytes may have reached the disk anyway, a skip marker is
  // written over its start, voiding [offset, offset + len) for every later scan. Until that
  // marker is on disk nothing more is written or acknowledged; batches already gathered
  // behind the failed one keep their offsets and are written after it.
  BR_LOG_ERROR("log: write of %d bytes at %s segment %u offset %llu failed: %s; its %u records "
               "are answered 503 and voided on disk before writing resumes",
               len, options_.dir.c_str(), b.segment, static_cast<unsigned long long>(b.file_offset),
               res < 0 ? std::strerror(-res) : "short write", b.records);
  BR_ASSERT(void_count_ < kMaxVoids);
  voids_[(void_head_ + void_count_) % kMaxVoids] =
      VoidRange{b.segment, b.file_offset, b.file_offset + static_cast<uint64_t>(len)};
  ++void_count_;
  voiding_ = true;
  void_retry_ns_ = 0;
}

bool LogWriter::void_ready(uint64_t now_ns) const noexcept {
  return voiding_ && !void_in_flight_ && now_ns >= void_retry_ns_;
}

void LogWriter::prep_void(io_uring_sqe* sqe) noexcept {
  BR_ASSERT(voiding_ && !void_in_flight_);
  const VoidRange& v = voids_[void_head_];
  // The marker goes through its own O_DSYNC descriptor: one rare write, durable on completion.
  if (void_fd_ >= 0 && void_fd_segment_ != v.segment) {
    close(void_fd_);
    void_fd_ = -1;
  }
  if (void_fd_ < 0) {
    void_fd_ = open_segment(segment_path(options_.dir, v.segment), options_.dsync);
    void_fd_segment_ = v.segment;
  }
  std::memset(void_block_, 0, align_);
  encode_record(void_block_, RecordKind::skip, v.offset, v.end, nullptr, 0);
  io_uring_prep_write(sqe, void_fd_, void_block_, align_, v.offset);
  void_in_flight_ = true;
}

void LogWriter::on_void(int res, uint64_t now_ns) noexcept {
  BR_ASSERT(void_in_flight_ && void_count_ > 0);
  void_in_flight_ = false;
  const VoidRange v = voids_[void_head_];
  if (res != static_cast<int>(align_)) {
    BR_LOG_ERROR("log: cannot void the failed write in %s at offset %llu: %s (retrying every second)",
                 options_.dir.c_str(), static_cast<unsigned long long>(v.offset),
                 res < 0 ? std::strerror(-res) : "short write");
    void_retry_ns_ = now_ns + kPrepareRetryNs;
    // A descriptor that failed may stay failed: open the segment afresh for the retry.
    if (void_fd_ >= 0) close(void_fd_);
    void_fd_ = -1;
    return;
  }
  void_head_ = (void_head_ + 1) % kMaxVoids;
  --void_count_;
  voiding_ = void_count_ > 0;
  BR_LOG_INFO("log: failed write voided (%s segment %u offset %llu..%llu)%s", options_.dir.c_str(), v.segment,
              static_cast<unsigned long long>(v.offset), static_cast<unsigned long long>(v.end),
              voiding_ ? "; voiding the next one" : "; accepting writes again");
  if (!voiding_ && void_fd_ >= 0) {
    close(void_fd_);
    void_fd_ = -1;
  }
}

bool LogWriter::pop_done(WriteDone& done) noexcept {
  if (released_ >= submitted_ || !buf(released_).done) return false;
  const Buffer& b = buf(released_);
  done.batch = released_;
  done.res = b.res;
  done.records = b.records;
  done.bytes = static_cast<uint32_t>(base::align_up(b.used, align_));
  const int fd = b.fd;
  ++released_;
  retire_fd(fd);
  return true;
}

bool LogWriter::idle() const noexcept {
  if (released_ != submitted_ || voiding_) return false;
  return submitted_ == filling_ && buf(filling_).used == 0;
}

const char* LogWriter::health_reason() const noexcept {
  if (voiding_) return "a log write failed; voiding it on disk before writing resumes";
  if (segment_blocked_ && prep_error_ == -ENOSPC) return "the disk is full: no room for the next log segment";
  if (segment_blocked_ && prep_error_ != 0) return "cannot create the next log segment";
  if (segment_blocked_) return "waiting for the next log segment";
  return "ok";
}

int LogWriter::begin_prepare() noexcept {
  const std::string tmp = segment_path(options_.dir, current_segment_ + 1) + ".tmp";
  prep_fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
  if (prep_fd_ < 0) return -errno;
  const int rc = posix_fallocate(prep_fd_, 0, static_cast<off_t>(options_.segment_size));
  if (rc != 0) {
    close(prep_fd_);
    prep_fd_ = -1;
    unlink(tmp.c_str());
    return -rc;
  }
  prep_offset_ = 0;
  prep_ = Prep::zeroing;
  return 0;
}

bool LogWriter::prepare_ready(uint64_t now_ns) noexcept {
  if (prep_in_flight_) return false;
  if (prep_ == Prep::ready) return false;
  if (prep_ == Prep::idle) {
    const Buffer& f = buf(filling_);
    const bool half_full = f.file_offset + f.used >= segment_bytes_ / 2;
    if (!half_full && !segment_blocked_) return false;
    if (now_ns < prep_retry_ns_) return false;
    const int rc = begin_prepare();
    if (rc < 0) {
      if (prep_error_ != rc)
        BR_LOG_ERROR("log: cannot create the next segment in %s: %s (retrying every second)",
                     options_.dir.c_str(), std::strerror(-rc));
      prep_error_ = rc;
      prep_retry_ns_ = now_ns + kPrepareRetryNs;
      return false;
    }
  }
  return true;
}

void LogWriter::prep_prepare(io_uring_sqe* sqe) noexcept {
  BR_ASSERT(!prep_in_flight_);
  prep_in_flight_ = true;
  switch (prep_) {
    case Prep::zeroing: {
      const auto chunk = static_cast<uint32_t>(
          std::min<uint64_t>(kZeroChunkBytes, options_.segment_size - prep_offset_));
      io_uring_prep_write_fixed(sqe, prep_fd_,
                                memory_ + static_cast<size_t>(options_.buffer_bytes) * options_.buffer_count,
                                chunk, prep_offset_, static_cast<int>(options_.buffer_count));
      prep_chunk_ = chunk;
      break;
    }
    case Prep::fsync_file: io_uring_prep_fsync(sqe, prep_fd_, 0); break;
    case Prep::fsync_dir: io_uring_prep_fsync(sqe, prep_dir_fd_, 0); break;
    case Prep::idle:
    case Prep::ready: BR_ASSERT(false);
  }
}

void LogWriter::on_prepare(int res) noexcept {
  BR_ASSERT(prep_in_flight_);
  prep_in_flight_ = false;
  const std::string path = segment_path(options_.dir, current_segment_ + 1);
  const bool short_write = prep_ == Prep::zeroing && res >= 0 && static_cast<uint32_t>(res) != prep_chunk_;
  if (res < 0 || short_write) {
    const int rc = res < 0 ? res : -ENOSPC;
    if (prep_error_ != rc)
      BR_LOG_ERROR("log: preparing %s failed: %s (retrying every second)", path.c_str(),
                   std::strerror(-rc));
    if (prep_fd_ >= 0) close(prep_fd_);
    prep_fd_ = -1;
    unlink((path + ".tmp").c_str());
    prep_ = Prep::idle;
    prep_error_ = rc;
    prep_retry_ns_ = base::monotonic_ns() + kPrepareRetryNs;
    return;
  }
  switch (prep_) {
    case Prep::zeroing:
      prep_offset_ += prep_chunk_;
      if (prep_offset_ >= options_.segment_size) prep_ = Prep::fsync_file;
      break;
    case Prep::fsync_file:
      if (rename((path + ".tmp").c_str(), path.c_str()) != 0) {
        prep_in_flight_ = true;
        on_prepare(-errno);
        return;
      }
      prep_ = Prep::fsync_dir;
      break;
    case Prep::fsync_dir:
      prep_ = Prep::ready;
      if (prep_error_ != 0) BR_LOG_INFO("log: %s ready again", path.c_str());
      prep_error_ = 0;
      segment_blocked_ = false;
      break;
    case Prep::idle:
    case Prep::ready: BR_ASSERT(false);
  }
}

}  // namespace busyring::storage
