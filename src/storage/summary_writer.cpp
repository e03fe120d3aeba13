// Summary files through the ring; see summary_writer.h for the steps.
#include "busyring/storage/summary_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/assert.h"
#include "busyring/base/log.h"
#include "busyring/storage/segment.h"

namespace busyring::storage {

SummaryWriter::~SummaryWriter() { close_fds(); }

void SummaryWriter::init(const std::string& dir, int dir_fd) noexcept {
  BR_ASSERT(dir_fd >= 0);
  dir_ = dir;
  dir_fd_ = dir_fd;
}

void SummaryWriter::push(const SegmentSummary& summary) {
  if (queue_.size() >= kQueueCapacity) {
    ++dropped_;
    BR_LOG_WARN("log: summary of %s dropped (%zu summaries wait to be written); start-up will scan "
                "that segment", segment_path(dir_, summary.segment).c_str(), queue_.size());
    return;
  }
  queue_.push_back(Job{summary.segment, encode_summary(summary)});
}

void SummaryWriter::start_job() noexcept {
  const Job& j = queue_.front();
  segment_path_ = segment_path(dir_, j.segment);
  path_ = summary_path(dir_, j.segment);
  tmp_path_ = path_ + ".tmp";
  step_ = Step::open_segment;
  started_ = true;
}

void SummaryWriter::submit(SqeSink& sink) noexcept {
  if (in_flight_ || queue_.empty()) return;
  if (!started_) start_job();
  prep(sink.sqe(LogOp::summary, ++seq_));
  in_flight_ = true;
}

void SummaryWriter::prep(io_uring_sqe* sqe) noexcept {
  const Job& j = queue_.front();
  switch (step_) {
    case Step::open_segment: io_uring_prep_openat(sqe, AT_FDCWD, segment_path_.c_str(), O_RDONLY | O_CLOEXEC, 0); return;
    case Step::sync_segment: io_uring_prep_fsync(sqe, segment_fd_, IORING_FSYNC_DATASYNC); return;
    case Step::open:
      io_uring_prep_openat(sqe, AT_FDCWD, tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      return;
    case Step::write:
      io_uring_prep_write(sqe, fd_, j.bytes.data(), static_cast<unsigned>(j.bytes.size()), 0);
      return;
    case Step::sync: io_uring_prep_fsync(sqe, fd_, 0); return;
    case Step::rename: io_uring_prep_renameat(sqe, AT_FDCWD, tmp_path_.c_str(), AT_FDCWD, path_.c_str(), 0); return;
    case Step::sync_dir: io_uring_prep_fsync(sqe, dir_fd_, 0); return;
    case Step::unlink: io_uring_prep_unlinkat(sqe, AT_FDCWD, tmp_path_.c_str(), 0); return;
  }
  BR_ASSERT(false);
}

void SummaryWriter::on_complete(uint64_t seq, int res) noexcept {
  BR_ASSERT(in_flight_ && seq == seq_);
  in_flight_ = false;
  if (step_ == Step::unlink) {
    if (res < 0 && res != -ENOENT) BR_LOG_WARN("log: cannot remove %s: %s", tmp_path_.c_str(), std::strerror(-res));
    finish_job();
    return;
  }
  if (step_ == Step::open_segment && res >= 0) segment_fd_ = res;
  if (step_ == Step::open && res >= 0) fd_ = res;
  if (step_ == Step::write && res >= 0 && static_cast<size_t>(res) != queue_.front().bytes.size()) res = -ENOSPC;
  if (res < 0) {
    fail(res);
    return;
  }
  advance();
}

void SummaryWriter::advance() noexcept {
  switch (step_) {
    case Step::open_segment: step_ = Step::sync_segment; return;
    case Step::sync_segment:
      close(segment_fd_);  // a read-only descriptor with nothing left to flush
      segment_fd_ = -1;
      step_ = Step::open;
      return;
    case Step::open: step_ = Step::write; return;
    case Step::write: step_ = Step::sync; return;
    case Step::sync: step_ = Step::rename; return;
    case Step::rename: step_ = Step::sync_dir; return;
    case Step::sync_dir:
      ++written_;
      error_ = 0;
      finish_job();
      return;
    case Step::unlink: break;
  }
  BR_ASSERT(false);
}

// A failed step drops this summary: the segment stays correct without one (start-up scans it).
// A .tmp that may exist is removed first.
void SummaryWriter::fail(int res) noexcept {
  if (res != error_)
    BR_LOG_WARN("log: cannot write %s (%s: %s); start-up will scan that segment instead", path_.c_str(),
                step_name(step_), std::strerror(-res));
  error_ = res;
  ++dropped_;
  const bool tmp_may_exist = step_ == Step::open || step_ == Step::write || step_ == Step::sync || step_ == Step::rename;
  close_fds();
  if (tmp_may_exist) {
    step_ = Step::unlink;
    return;
  }
  finish_job();
}

void SummaryWriter::finish_job() noexcept {
  close_fds();
  queue_.pop_front();
  started_ = false;
}

void SummaryWriter::close_fds() noexcept {
  if (segment_fd_ >= 0) close(segment_fd_);
  if (fd_ >= 0) close(fd_);
  segment_fd_ = -1;
  fd_ = -1;
}

const char* SummaryWriter::step_name(Step s) noexcept {
  switch (s) {
    case Step::open_segment: return "open of the segment";
    case Step::sync_segment: return "fsync of the segment";
    case Step::open: return "create";
    case Step::write: return "write";
    case Step::sync: return "fsync";
    case Step::rename: return "rename";
    case Step::sync_dir: return "fsync of the directory";
    case Step::unlink: return "remove";
  }
  return "?";
}

}  // namespace busyring::storage
