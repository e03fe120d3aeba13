// The Redis id counter (--id-source redis://HOST:PORT/KEY) behind the shared source's store seam
// (range_store.h), with hiredis's blocking API on the reserving thread.
//
// The reservation is one Lua script, atomic in Redis: INCRBY KEY, and SET KEY:node:<node-id>
// to the range it gave, but only if that per-node record still names the last range this node
// knows of. So a call the node gave up on (a timeout while Redis stalled) is never lost: if
// Redis ran it, the next call finds the node's record ahead, and the node adopts that range; if
// Redis runs it late, after a newer call, the record no longer matches and it does nothing.
// A missing counter is never created (a new cluster: SET KEY 0 once).
#pragma once

#include <cstdint>
#include <string>

#include "busyring/ids/range_store.h"

struct redisContext;

namespace busyring::ids {

struct RedisEndpoint {
  std::string host;
  uint16_t port = 6379;
  std::string key;
};

class RedisRangeStore final : public RangeStore {
 public:
  // node_id: DATA_DIR/node-id (names the node's record).
  RedisRangeStore(RedisEndpoint endpoint, const std::string& node_id);
  ~RedisRangeStore() override;
  RedisRangeStore(const RedisRangeStore&) = delete;
  RedisRangeStore& operator=(const RedisRangeStore&) = delete;

  Reservation reserve(uint64_t count, const std::string& last_record, uint64_t held_end) override;
  base::Result<CounterRead> read_counter() override;
  base::Status write_record(const std::string& record) override;

  const char* product() const noexcept override { return "Redis"; }
  std::string where() const override;
  const std::string& counter_key() const noexcept override { return endpoint_.key; }
  std::string set_counter_command(const std::string& value) const override;
  const char* lost_state_hint() const noexcept override { return "restarted without its append-only file?"; }

 private:
  bool connect(std::string& error);
  void disconnect();

  const RedisEndpoint endpoint_;
  const std::string node_key_;  // KEY:node:<node-id>: the last range Redis gave this node
  redisContext* redis_ = nullptr;
};

}  // namespace busyring::ids
