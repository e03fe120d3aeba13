// Voids failed log writes on disk, oldest first. A write that failed may still have put some of
// its bytes on the disk, so before anything more is written or acknowledged a skip marker (one
// aligned block) goes over its start, voiding [offset, end) for every later scan. Each marker is
// written through a descriptor of its own, O_DSYNC when the log is durable (the marker is then on
// stable storage when its write completes), opened through the ring:
//
//   waiting range -> open (OPENAT its segment, unless the open one is that segment's)
//                 -> mark (WRITE the skip marker) -> the next range, or empty
//   a failed step: the descriptor is closed, and the range retried a second later, afresh
#pragma once

#include <cstdint>
#include <string>

#include "busyring/storage/sqe_sink.h"

namespace busyring::storage {

struct VoidRange {
  uint32_t segment = 0;
  uint64_t offset = 0;
  uint64_t end = 0;
};

class VoidQueue {
 public:
  // At most this many failed writes wait at once: at least the writes that can be in flight
  // together (--log-writes is at most 8), since a dying disk fails them all.
  static constexpr uint32_t kCapacity = 8;

  VoidQueue() = default;
  VoidQueue(const VoidQueue&) = delete;
  VoidQueue& operator=(const VoidQueue&) = delete;
  ~VoidQueue();

  // block: `align` bytes of DIO-aligned memory for the marker, owned by the caller.
  void init(const std::string& dir, bool dsync, uint32_t align, uint8_t* block) noexcept;

  void push(const VoidRange& range) noexcept;
  // No failed write waits to be voided: writing may go on.
  bool empty() const noexcept { return count_ == 0; }
  bool in_flight() const noexcept { return in_flight_; }

  // Queues the next step for the oldest range, if one may start now.
  void submit(SqeSink& sink, uint64_t now_ns) noexcept;
  // The completion of the step named `seq`.
  void on_complete(uint64_t seq, int res, uint64_t now_ns) noexcept;

 private:
  enum class Step : uint8_t { open, mark };
  void close_fd() noexcept;
  void retry_later(const char* what, int res, uint64_t now_ns) noexcept;

  std::string dir_;
  bool dsync_ = true;
  uint32_t align_ = 0;
  uint8_t* block_ = nullptr;
  VoidRange ranges_[kCapacity];
  uint32_t head_ = 0;
  uint32_t count_ = 0;
  Step step_ = Step::open;
  bool in_flight_ = false;
  uint64_t seq_ = 0;
  uint64_t retry_ns_ = 0;
  int fd_ = -1;
  uint32_t fd_segment_ = 0;
  std::string path_;  // the segment being opened (OPENAT reads it at submission)
};

}  // namespace busyring::storage
