// Writes the summaries of sealed segments (segment_summary.h) through the shard's ring, one
// step in flight at a time, so the loop thread never blocks on the filesystem:
//
//   idle -> open_segment (OPENAT seg-N.log) -> sync_segment (FSYNC: the records the summary
//        names are on disk before it is, also without --ack=durable) -> open (OPENAT .tmp)
//        -> write (WRITE) -> sync (FSYNC) -> rename (RENAMEAT .tmp -> seg-N.summary)
//        -> sync_dir (FSYNC dir) -> next queued summary, or idle
//   a step failing: logged, its .tmp removed (UNLINKAT), the summary dropped (start-up scans
//   that segment and writes its summary then)
//
// Sealed summaries wait in a short queue; one that finds it full is dropped the same way.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "busyring/storage/segment_summary.h"
#include "busyring/storage/sqe_sink.h"

namespace busyring::storage {

class SummaryWriter {
 public:
  static constexpr size_t kQueueCapacity = 16;

  SummaryWriter() = default;
  SummaryWriter(const SummaryWriter&) = delete;
  SummaryWriter& operator=(const SummaryWriter&) = delete;
  ~SummaryWriter();

  // dir_fd: the shard directory, opened by the caller and kept open while this lives.
  void init(const std::string& dir, int dir_fd) noexcept;
  // Queues a sealed segment's summary (encoded now: a segment switch, not a request, pays it).
  void push(const SegmentSummary& summary);
  // Queues the next step if none is in flight and a summary waits.
  void submit(SqeSink& sink) noexcept;
  void on_complete(uint64_t seq, int res) noexcept;

  bool in_flight() const noexcept { return in_flight_; }
  bool idle() const noexcept { return !in_flight_ && queue_.empty(); }
  uint64_t written() const noexcept { return written_; }
  uint64_t dropped() const noexcept { return dropped_; }

 private:
  enum class Step : uint8_t { open_segment, sync_segment, open, write, sync, rename, sync_dir, unlink };
  struct Job {
    uint32_t segment = 0;
    std::vector<uint8_t> bytes;
  };
  static const char* step_name(Step s) noexcept;
  void start_job() noexcept;
  void prep(io_uring_sqe* sqe) noexcept;
  void advance() noexcept;
  void fail(int res) noexcept;
  void finish_job() noexcept;
  void close_fds() noexcept;

  std::string dir_;
  int dir_fd_ = -1;
  std::deque<Job> queue_;  // front: the job whose steps run
  bool started_ = false;   // the front job's first step was queued
  Step step_ = Step::open_segment;
  bool in_flight_ = false;
  uint64_t seq_ = 0;
  int segment_fd_ = -1;
  int fd_ = -1;
  int error_ = 0;  // the last failure, logged once per distinct error
  uint64_t written_ = 0;
  uint64_t dropped_ = 0;
  std::string segment_path_;  // kept until the kernel has read them (OPENAT, RENAMEAT and
  std::string path_;          // UNLINKAT take paths)
  std::string tmp_path_;
};

}  // namespace busyring::storage
