// Segment preparation as SQEs on the shard's ring; see segment_preparer.h for the steps.
#include "busyring/storage/segment_preparer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "busyring/base/assert.h"
#include "busyring/base/log.h"
#include "busyring/storage/segment.h"
#include "busyring/storage/segment_ledger.h"

namespace busyring::storage {
namespace {

constexpr uint64_t kRetryNs = 1'000'000'000;

}  // namespace

SegmentPreparer::~SegmentPreparer() { close_fd(); }

void SegmentPreparer::init(const PreparerOptions& options) noexcept {
  BR_ASSERT(options.dir_fd >= 0 && options.segment_bytes > 0);
  BR_ASSERT(options.zeros != nullptr && options.zero_bytes > 0);
  options_ = options;
}

void SegmentPreparer::adopt(uint32_t index, int fd, uint64_t bytes) noexcept {
  BR_ASSERT(step_ == Step::idle && fd_ < 0 && fd >= 0);
  index_ = index;
  fd_ = fd;
  bytes_ = bytes;
  step_ = Step::ready;
}

SegmentPreparer::Prepared SegmentPreparer::take() noexcept {
  BR_ASSERT(step_ == Step::ready && fd_ >= 0);
  const Prepared p{fd_, bytes_};
  fd_ = -1;
  step_ = Step::idle;
  return p;
}

void SegmentPreparer::start(uint32_t index) noexcept {
  index_ = index;
  path_ = segment_path(options_.dir, index);
  tmp_path_ = path_ + ".tmp";
  zeroed_ = 0;
  bytes_ = options_.segment_bytes;
  step_ = Step::open;
}

void SegmentPreparer::submit(SqeSink& sink, uint32_t index, uint64_t now_ns) noexcept {
  if (in_flight_ || step_ == Step::ready) return;
  if (step_ == Step::idle) {
    if (now_ns < retry_ns_) return;
    start(index);
  }
  BR_ASSERT(index == index_);
  prep(sink.sqe(LogOp::prepare, ++seq_));
  in_flight_ = true;
}

void SegmentPreparer::prep(io_uring_sqe* sqe) noexcept {
  switch (step_) {
    case Step::open:
      io_uring_prep_openat(sqe, AT_FDCWD, tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC,
                           0644);
      return;
    case Step::allocate:
      // Blocks reserved up front: a full disk fails here, not in a later data write.
      io_uring_prep_fallocate(sqe, fd_, 0, 0, static_cast<off_t>(bytes_));
      return;
    case Step::zero:
      chunk_ = static_cast<uint32_t>(std::min<uint64_t>(options_.zero_bytes, bytes_ - zeroed_));
      io_uring_prep_write_fixed(sqe, fd_, options_.zeros, chunk_, zeroed_, options_.zero_buffer_index);
      return;
    case Step::sync: io_uring_prep_fsync(sqe, fd_, 0); return;
    case Step::rename: io_uring_prep_renameat(sqe, AT_FDCWD, tmp_path_.c_str(), AT_FDCWD, path_.c_str(), 0); return;
    case Step::sync_dir: io_uring_prep_fsync(sqe, options_.dir_fd, 0); return;
    case Step::record:
      // O_APPEND: the line lands at the end whatever the offset says.
      ledger_bytes_ = static_cast<uint32_t>(format_ledger_line(ledger_line_, options_.shard, index_));
      io_uring_prep_write(sqe, options_.ledger_fd, ledger_line_, ledger_bytes_, 0);
      return;
    case Step::sync_record: io_uring_prep_fsync(sqe, options_.ledger_fd, IORING_FSYNC_DATASYNC); return;
    case Step::unlink: io_uring_prep_unlinkat(sqe, AT_FDCWD, tmp_path_.c_str(), 0); return;
    case Step::idle:
    case Step::ready: break;
  }
  BR_ASSERT(false);
}

void SegmentPreparer::on_complete(uint64_t seq, int res, uint64_t now_ns) noexcept {
  BR_ASSERT(in_flight_);
  BR_ASSERT(seq == seq_);
  in_flight_ = false;
  if (step_ == Step::unlink) {
    if (res < 0 && res != -ENOENT)
      BR_LOG_WARN("log: cannot remove %s: %s", tmp_path_.c_str(), std::strerror(-res));
    step_ = Step::idle;
    return;
  }
  if (step_ == Step::open && res >= 0) fd_ = res;
  if (step_ == Step::zero && res >= 0 && static_cast<uint32_t>(res) != chunk_) res = -ENOSPC;  // short write
  if (step_ == Step::record && res >= 0 && static_cast<uint32_t>(res) != ledger_bytes_) res = -EIO;
  if (res < 0) {
    fail(res, now_ns);
    return;
  }
  advance();
}

void SegmentPreparer::advance() noexcept {
  switch (step_) {
    case Step::open: step_ = Step::allocate; return;
    case Step::allocate: step_ = Step::zero; return;
    case Step::zero:
      zeroed_ += chunk_;
      if (zeroed_ >= bytes_) step_ = Step::sync;
      return;
    case Step::sync: step_ = Step::rename; return;
    case Step::rename: step_ = Step::sync_dir; return;
    case Step::sync_dir:
      if (options_.ledger_fd >= 0) {
        step_ = Step::record;
        return;
      }
      step_ = Step::ready;
      if (error_ != 0) BR_LOG_INFO("log: %s ready again", path_.c_str());
      error_ = 0;
      return;
    case Step::record: step_ = Step::sync_record; return;
    case Step::sync_record:
      step_ = Step::ready;
      if (error_ != 0) BR_LOG_INFO("log: %s ready again", path_.c_str());
      error_ = 0;
      return;
    case Step::idle:
    case Step::ready:
    case Step::unlink: break;
  }
  BR_ASSERT(false);
}

// A step failed: the attempt is abandoned (its partial .tmp removed, through the ring) and
// retried a second later. Each distinct error is logged once, not once a second.
void SegmentPreparer::fail(int res, uint64_t now_ns) noexcept {
  if (res != error_)
    BR_LOG_ERROR("log: cannot prepare %s (%s: %s); retrying every second", path_.c_str(), step_name(step_),
                 std::strerror(-res));
  error_ = res;
  retry_ns_ = now_ns + kRetryNs;
  close_fd();
  // Until the rename has happened, a .tmp may be left: remove it before trying again.
  const bool renamed = step_ == Step::sync_dir || step_ == Step::record || step_ == Step::sync_record;
  step_ = renamed ? Step::idle : Step::unlink;
}

void SegmentPreparer::close_fd() noexcept {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
}

const char* SegmentPreparer::step_name(Step s) noexcept {
  switch (s) {
    case Step::open: return "create";
    case Step::allocate: return "allocate";
    case Step::zero: return "zero-fill";
    case Step::sync: return "fsync";
    case Step::rename: return "rename";
    case Step::sync_dir: return "fsync of the directory";
    case Step::unlink: return "remove";
    case Step::record: return "write to the segment ledger";
    case Step::sync_record: return "fsync of the segment ledger";
    case Step::idle:
    case Step::ready: break;
  }
  return "?";
}

}  // namespace busyring::storage
