// The Redis id counter (--id-source redis://HOST:PORT/KEY) behind the shared source's store seam
// (range_store.h), with hiredis's blocking API on the reserving thread.
//
// The reservation is one Lua script, atomic in Redis: INCRBY KEY, and SET KEY:node:<node-id>
// to the range it gave, but only if that per-node record still names the last range this node
// knows of. So a call the node gave up on (a timeout while Redis stalled) is never lost: if
// Redis ran it, the next call finds the node's record ahead, and the node adopts that range; if
// Redis runs it late, after a newer call, the record no longer matches and it does nothing.
// A missing counter is never created (a new cluster: SET KEY 0 once).
//
// With --id-source-password-file, every connection (the first and each reconnect) starts with
// AUTH. Credentials Redis refuses (or a Redis that wants some and got none, or an ACL user not
// allowed the script's commands) fail the call as access_refused(): the shared source says so
// once, on the log and /healthz, and retries like a Redis that is down, each retry with a new
// connection and AUTH, so fixing the ACL in Redis brings the node back without a restart.
#pragma once

#include <cstdint>
#include <string>

#include "busyring/ids/id_source.h"
#include "busyring/ids/redis_credentials.h"
#include "range_store.h"

struct redisContext;
struct redisReply;

namespace busyring::ids {

class RedisRangeStore final : public RangeStore {
 public:
  // node_id: DATA_DIR/node-id (names the node's record); credentials: the file
  // endpoint.password_file names, already read (none: no AUTH).
  RedisRangeStore(RedisEndpoint endpoint, const std::string& node_id, RedisCredentials credentials);
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
  bool access_refused() const noexcept override { return access_refused_; }
  std::string access_fix() const override;

 private:
  bool connect(std::string& error);
  bool authenticate(std::string& error);
  bool refused_access(const redisReply* reply, std::string& error);
  // The reply of one command on a connection (opened first if needed); nullptr on failure, with
  // `error` set and the connection dropped.
  redisReply* call(std::string& error, const char* format, ...);
  void disconnect();

  const RedisEndpoint endpoint_;
  const std::string node_key_;  // KEY:node:<node-id>: the last range Redis gave this node
  const RedisCredentials credentials_;
  redisContext* redis_ = nullptr;
  bool access_refused_ = false;  // the last call failed on AUTH, NOAUTH or NOPERM
};

}  // namespace busyring::ids
