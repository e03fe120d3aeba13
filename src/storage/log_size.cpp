// The live log's size; see log_size.h.
#include "busyring/storage/log_size.h"


#include <vector>

#include "busyring/base/log.h"
#include "busyring/storage/segment.h"

namespace busyring::storage {
namespace {

constexpr int kIntervalMs = 500;

}  // namespace

uint64_t LogSizeGauge::measure(const std::string& data_dir) {
  uint64_t total = 0;
  std::vector<uint32_t> shards;
  if (list_shards(data_dir, shards) < 0) return 0;
  std::vector<uint32_t> segments;
  for (const uint32_t k : shards) {
    const std::string dir = shard_dir(data_dir, k);
    if (list_segments(dir, segments) < 0) continue;
    for (const uint32_t index : segments) total += segment_disk_bytes(dir, index);  // compacted ones too
  }
  return total;
}

void LogSizeGauge::start(const std::string& data_dir, uint64_t max_bytes) {
  data_dir_ = data_dir;
  max_bytes_ = max_bytes;
  update();
  ticker_.start("busyring-size", kIntervalMs, [this] { update(); });
}

void LogSizeGauge::update() {
  const uint64_t bytes = measure(data_dir_);
  live_bytes_.store(bytes, std::memory_order_relaxed);
  const bool full = max_bytes_ != 0 && bytes >= max_bytes_;
  if (full == full_.load(std::memory_order_relaxed)) return;
  full_.store(full, std::memory_order_relaxed);
  if (full)
    BR_LOG_ERROR("log: the live log is %llu bytes, at --max-log-size %llu: POST /api/usages answers 503 until "
                 "exported segments are retired (busyring-log retire; the export chain does it once a minute)",
                 static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(max_bytes_));
  else
    BR_LOG_INFO("log: the live log is %llu bytes, under --max-log-size %llu again: taking records",
                static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(max_bytes_));
}

}  // namespace busyring::storage
