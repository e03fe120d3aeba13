// Voiding failed writes with skip markers; see void_queue.h.
#include "busyring/storage/void_queue.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/assert.h"
#include "busyring/base/log.h"
#include "busyring/storage/record.h"
#include "busyring/storage/segment.h"

namespace busyring::storage {
namespace {

constexpr uint64_t kRetryNs = 1'000'000'000;

}  // namespace

VoidQueue::~VoidQueue() { close_fd(); }

void VoidQueue::init(const std::string& dir, bool dsync, uint32_t align, uint8_t* block) noexcept {
  BR_ASSERT(block != nullptr && align > 0);
  dir_ = dir;
  dsync_ = dsync;
  align_ = align;
  block_ = block;
}

void VoidQueue::push(const VoidRange& range) noexcept {
  BR_ASSERT(count_ < kCapacity);
  BR_ASSERT(range.offset % align_ == 0 && range.end > range.offset);
  ranges_[(head_ + count_) % kCapacity] = range;
  ++count_;
  retry_ns_ = 0;
}

void VoidQueue::submit(SqeSink& sink, uint64_t now_ns) noexcept {
  if (count_ == 0 || in_flight_ || now_ns < retry_ns_) return;
  const VoidRange& v = ranges_[head_];
  if (fd_ >= 0 && fd_segment_ != v.segment) close_fd();
  io_uring_sqe* sqe = sink.sqe(LogOp::void_mark, ++seq_);
  if (fd_ < 0) {
    step_ = Step::open;
    path_ = segment_path(dir_, v.segment);
    fd_segment_ = v.segment;
    io_uring_prep_openat(sqe, AT_FDCWD, path_.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC | (dsync_ ? O_DSYNC : 0), 0);
  } else {
    step_ = Step::mark;
    std::memset(block_, 0, align_);
    encode_record(block_, RecordKind::skip, v.offset, v.end, nullptr, 0);
    io_uring_prep_write(sqe, fd_, block_, align_, v.offset);
  }
  in_flight_ = true;
}

void VoidQueue::on_complete(uint64_t seq, int res, uint64_t now_ns) noexcept {
  BR_ASSERT(in_flight_ && count_ > 0);
  BR_ASSERT(seq == seq_);
  in_flight_ = false;
  if (step_ == Step::open) {
    if (res < 0) retry_later("open", res, now_ns);
    else fd_ = res;  // the marker goes at the next submit
    return;
  }
  if (res != static_cast<int>(align_)) {
    retry_later("void", res < 0 ? res : -EIO, now_ns);
    close_fd();  // a descriptor that failed may stay failed: the retry opens the segment afresh
    return;
  }
  const VoidRange v = ranges_[head_];
  head_ = (head_ + 1) % kCapacity;
  --count_;
  BR_LOG_INFO("log: failed write voided (%s segment %u offset %llu..%llu)%s", dir_.c_str(), v.segment,
              static_cast<unsigned long long>(v.offset), static_cast<unsigned long long>(v.end),
              count_ > 0 ? "; voiding the next one" : "; accepting writes again");
  if (count_ == 0) close_fd();
}

void VoidQueue::retry_later(const char* what, int res, uint64_t now_ns) noexcept {
  const VoidRange& v = ranges_[head_];
  BR_LOG_ERROR("log: cannot %s the failed write in %s segment %u at offset %llu: %s (retrying every second)", what,
               dir_.c_str(), v.segment, static_cast<unsigned long long>(v.offset), std::strerror(-res));
  retry_ns_ = now_ns + kRetryNs;
}

void VoidQueue::close_fd() noexcept {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
}

}  // namespace busyring::storage
