// Id ranges reserved from a Redis counter shared by a cluster of nodes (--id-source redis://).
//
// One small dedicated thread talks to Redis with hiredis's blocking API: it calls
// `INCRBY KEY reserve/2` whenever the node's reserve falls under half of --id-reserve, writes
// the range to DATA_DIR/id-ranges (fdatasync) and only then publishes it to the shards'
// lock-free reserve (id_reserve.h). A thread rather than hiredis's async API on the shards'
// rings: the call happens a few times a second at most, never on a request's path, and a
// thread keeps connect timeouts, reconnects and the durable file write off every shard.
//
// Redis unreachable: shards go on taking from the reserve; once it is empty they get nothing
// and answer 503. A reply below the highest id this node ever held means Redis lost its
// counter: the range is refused, nothing more is issued (other nodes may now be handed the
// same ids), and the thread polls `GET KEY` until an operator sets the counter high enough.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "busyring/base/result.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/held_ranges.h"
#include "busyring/ids/id_reserve.h"

struct redisContext;

namespace busyring::ids {

struct RedisEndpoint {
  std::string host;
  uint16_t port = 6379;
  std::string key;
};

class RedisBlockSource final : public BlockSource {
 public:
  // held_end: one past the highest id this node ever held (its id-ranges and its log);
  // held_holes: the unused ids of those ranges, dealt to the shards as holes: they count as
  // reserve until issued, so a restarted node takes no new range before using them up.
  RedisBlockSource(RedisEndpoint endpoint, uint32_t reserve_ids, uint64_t held_end, uint64_t held_holes);
  ~RedisBlockSource() override;
  RedisBlockSource(const RedisBlockSource&) = delete;
  RedisBlockSource& operator=(const RedisBlockSource&) = delete;

  // Opens the ranges file, tries one reservation (a second at most), starts the thread.
  // Fails only on a local problem (the file); Redis being down is not a start-up error.
  base::Status start(const std::string& ranges_path);

  IdRange take(uint32_t count) noexcept override;
  bool issuing_allowed() const noexcept override { return !refused_.load(std::memory_order_relaxed); }
  void holes_taken(uint64_t count) noexcept override;
  SourceStats stats() const noexcept override;

 private:
  enum class Step { idle, again, failed };
  void run();
  Step step();
  Step reserve_range();
  Step check_counter_fixed();
  bool connect();
  void disconnect();
  void note_down(const char* what);
  void note_up();
  void wait(int timeout_ms);
  void wake() noexcept;
  uint64_t available() const noexcept {
    return reserve_.available() + held_holes_.load(std::memory_order_relaxed);
  }
  void wake_if_low() noexcept {
    if (available() < low_water_ && !wake_pending_.exchange(true)) wake();
  }

  const RedisEndpoint endpoint_;
  const uint64_t half_;       // ids per INCRBY
  const uint64_t low_water_;  // refill under this many available ids
  uint64_t held_end_;         // reserving thread only
  IdReserve reserve_;
  HeldRangesLog ranges_log_;
  redisContext* redis_ = nullptr;  // reserving thread only
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  alignas(64) std::atomic<bool> wake_pending_{false};
  std::atomic<bool> up_{true};
  std::atomic<bool> refused_{false};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> errors_{0};
  alignas(64) std::atomic<uint64_t> held_holes_;
};

}  // namespace busyring::ids
