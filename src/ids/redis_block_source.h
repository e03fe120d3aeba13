// Id ranges reserved from a Redis counter shared by a cluster of nodes (--id-source redis://).
//
// One small dedicated thread talks to Redis with hiredis's blocking API: whenever the node's
// reserve falls under half of --id-reserve it reserves reserve/2 ids, writes the range to
// DATA_DIR/id-ranges (fdatasync) and only then publishes it to the shards' lock-free reserve
// (id_reserve.h). A thread rather than hiredis's async API on the shards' rings: the call
// happens a few times a second at most, never on a request's path, and a thread keeps connect
// timeouts, reconnects and the durable file write off every shard.
//
// The reservation is one Lua script, atomic in Redis: INCRBY KEY, and SET KEY:node:<node-id>
// to the range it gave, but only if that per-node record still names the last range this node
// knows of. So a call the node gave up on (a timeout while Redis stalled) is never lost: if
// Redis ran it, the next call finds the node's record ahead, and the node adopts that range; if
// Redis runs it late, after a newer call, the record no longer matches and it does nothing.
//
// With --id-source-password-file, every connection (the first and each reconnect) starts with
// AUTH. Credentials Redis refuses (or a Redis that wants some and got none, or an ACL user not
// allowed the script's commands) are logged once, shown on /healthz, and treated like Redis
// being unreachable: the reserve is used up, then 503 with Retry-After; each retry AUTHs again,
// so fixing the ACL in Redis brings the node back without a restart.
//
// Redis unreachable: shards go on taking from the reserve; once it is empty they get nothing
// and answer 503. Redis that lost its state (the counter below ids this node held, its record
// of this node behind or gone, or no counter at all) is refused: nothing more is issued (other
// nodes may now be handed the same ids), and the thread polls `GET KEY` until an operator sets
// the counter (a new cluster: SET KEY 0 once).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "busyring/base/result.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/held_ranges.h"
#include "busyring/ids/id_source.h"
#include "id_reserve.h"
#include "busyring/ids/redis_credentials.h"

struct redisContext;
struct redisReply;

namespace busyring::ids {

class RedisBlockSource final : public BlockSource {
 public:
  // node_id: DATA_DIR/node-id; last_range: the last range this node reserved (none: empty);
  // held_end: one past the highest id this node ever held (its id-ranges and its log);
  // held_holes: the unused ids of those ranges, dealt to the shards as holes: they count as
  // reserve until issued, so a restarted node takes no new range before using them up.
  RedisBlockSource(RedisEndpoint endpoint, const std::string& node_id, IdRange last_range, uint32_t reserve_ids,
                   uint64_t held_end, uint64_t held_holes);
  ~RedisBlockSource() override;
  RedisBlockSource(const RedisBlockSource&) = delete;
  RedisBlockSource& operator=(const RedisBlockSource&) = delete;

  // Reads the credentials file, opens the ranges file, tries one reservation (a second at
  // most), starts the thread. Fails only on a local problem (a file); Redis being down or
  // refusing the credentials is not a start-up error.
  base::Status start(const std::string& ranges_path);

  IdRange take(uint32_t count) noexcept override;
  void holes_taken(uint64_t count) noexcept override;
  SourceStats stats() const noexcept override;

 private:
  enum class Step { idle, again, failed };
  enum Refusal : uint8_t { none, behind, missing };
  void run();
  Step step();
  Step reserve_range();
  Step check_counter_fixed();
  Step take_range(IdRange range);
  Step refuse(Refusal why, const char* what);
  bool connect();
  bool authenticate();
  bool refused_access(const redisReply* reply);
  void note_access_refused(const char* what);
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
  const std::string node_key_;  // KEY:node:<node-id>: the last range Redis gave this node
  const uint64_t half_;       // ids per INCRBY
  const uint64_t low_water_;  // refill under this many available ids
  uint64_t held_end_;         // reserving thread only
  std::string last_range_;    // "FIRST END" of the last range taken, or empty; reserving thread only
  IdReserve reserve_;
  HeldRangesLog ranges_log_;
  RedisCredentials credentials_;   // set in start(), read by the reserving thread only
  redisContext* redis_ = nullptr;  // reserving thread only
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  alignas(64) std::atomic<bool> wake_pending_{false};
  std::atomic<bool> up_{true};
  std::atomic<bool> access_refused_{false};  // the last connection was refused AUTH or a command
  std::atomic<uint8_t> refusal_{none};
  std::atomic<uint64_t> calls_{0};
  std::atomic<uint64_t> errors_{0};
  alignas(64) std::atomic<uint64_t> held_holes_;
};

}  // namespace busyring::ids
