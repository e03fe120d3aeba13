// The live log's size against --max-log-size (issue 17 §2): the bytes of every segment file
// on disk (seg-*.log of every DATA_DIR/shard-KK, the prepared next segments included), measured
// by a small thread twice a second, since segments are removed from outside (`busyring-log
// retire`, run by the export chain) and the server itself never deletes anything.
//
// Once the live log reaches the limit, full() turns true: POSTs answer 503 log_full with
// Retry-After and /healthz says why, until retire brings it back under. The shards read one
// relaxed atomic per POST, written only when it changes. The limit is approximate by what one
// half-second's writes add, plus a prepared segment: set it a few segments below the disk.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "busyring/base/thread.h"

namespace busyring::storage {

class LogSizeGauge {
 public:
  LogSizeGauge() = default;
  LogSizeGauge(const LogSizeGauge&) = delete;
  LogSizeGauge& operator=(const LogSizeGauge&) = delete;

  // Measures once now, then starts the measuring thread. max_bytes 0: no limit (only measured).
  void start(const std::string& data_dir, uint64_t max_bytes);

  bool full() const noexcept { return full_.load(std::memory_order_relaxed); }
  uint64_t live_bytes() const noexcept { return live_bytes_.load(std::memory_order_relaxed); }
  uint64_t max_bytes() const noexcept { return max_bytes_; }

  // The bytes of the segment files under data_dir (files that vanish while counted count 0).
  static uint64_t measure(const std::string& data_dir);

 private:
  void update();

  std::string data_dir_;
  uint64_t max_bytes_ = 0;
  alignas(64) std::atomic<uint64_t> live_bytes_{0};
  alignas(64) std::atomic<bool> full_{false};
  base::PeriodicThread ticker_;  // last: joined before the members update() touches
};

}  // namespace busyring::storage
