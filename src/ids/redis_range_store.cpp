// The Redis counter's calls: the reservation script, GET, the record's rewrite; connect, AUTH
// and reconnect (one connection, dropped after any failure, opened again by the next call).
#include "redis_range_store.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace busyring::ids {
namespace {

constexpr int kTimeoutMs = 1000;      // connect and each command

// KEYS[1] the counter, KEYS[2] this node's record; ARGV[1] ids to reserve, ARGV[2] the range
// the node last took ("" for none). Returns {1, top}: ids (top - n, top] are the node's;
// {0, record}: the record is not what the node knows (a call it gave up on ran, or Redis lost
// state); {2, ""}: no counter (a new cluster sets it to 0 first; a lost one is set by hand).
constexpr const char* kReserveScript =
    "local last = redis.call('GET', KEYS[2]) or '' "
    "if last ~= ARGV[2] then return {0, last} end "
    "if redis.call('EXISTS', KEYS[1]) == 0 then return {2, ''} end "
    "local top = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "redis.call('SET', KEYS[2], string.format('%d %d', top - ARGV[1] + 1, top + 1)) "
    "return {1, top}";

timeval to_timeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

Reservation failed(std::string error) {
  Reservation r;
  r.outcome = Reservation::Outcome::failed;
  r.error = std::move(error);
  return r;
}

}  // namespace

RedisRangeStore::RedisRangeStore(RedisEndpoint endpoint, const std::string& node_id, RedisCredentials credentials)
    : endpoint_(std::move(endpoint)),
      node_key_(endpoint_.key + ":node:" + node_id),
      credentials_(std::move(credentials)) {}

RedisRangeStore::~RedisRangeStore() { disconnect(); }

std::string RedisRangeStore::where() const {
  return "redis " + endpoint_.host + ":" + std::to_string(endpoint_.port);
}

std::string RedisRangeStore::set_counter_command(const std::string& value) const {
  return "redis-cli -h " + endpoint_.host + " -p " + std::to_string(endpoint_.port) + " SET " + endpoint_.key + " " +
         value;
}

std::string RedisRangeStore::access_fix() const {
  return "Fix the Redis ACL (the node retries on its own) or the file (" +
         (endpoint_.password_file.empty() ? std::string("none given") : endpoint_.password_file) +
         "; then restart the node)";
}

Reservation RedisRangeStore::reserve(uint64_t count, const std::string& last_record, uint64_t /*held_end*/) {
  std::string error;
  redisReply* reply = call(error, "EVAL %s 2 %s %s %llu %s", kReserveScript, endpoint_.key.c_str(), node_key_.c_str(),
                           static_cast<unsigned long long>(count), last_record.c_str());
  if (reply == nullptr) return failed(error);
  const bool well_formed = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                           reply->element[0]->type == REDIS_REPLY_INTEGER;
  if (!well_formed) {
    error = std::string("the id reservation script answered ") +
            (reply->type == REDIS_REPLY_ERROR ? reply->str : "something unexpected");
    freeReplyObject(reply);
    return failed(error);
  }
  const long long status = reply->element[0]->integer;
  const redisReply* value = reply->element[1];
  Reservation r;
  long long top = 0;
  if (value->type == REDIS_REPLY_INTEGER) top = value->integer;
  else if (value->type == REDIS_REPLY_STRING) r.record.assign(value->str, value->len);
  freeReplyObject(reply);
  if (status == 2) {
    r.outcome = Reservation::Outcome::missing;
  } else if (status == 0) {
    r.outcome = Reservation::Outcome::record_moved;
  } else if (top < static_cast<long long>(count)) {
    // INCRBY ran on a counter below zero (set by hand): nothing usable, the counter is behind.
    r.outcome = Reservation::Outcome::counter_behind;
  } else {
    // INCRBY returned the counter's new value: the range is (top - count, top].
    r.outcome = Reservation::Outcome::reserved;
    r.range = {static_cast<uint64_t>(top) - count + 1, static_cast<uint64_t>(top) + 1};
  }
  return r;
}

base::Result<CounterRead> RedisRangeStore::read_counter() {
  std::string error;
  redisReply* reply = call(error, "GET %s", endpoint_.key.c_str());
  if (reply == nullptr) return base::Error{error};
  CounterRead c;
  c.exists = reply->type == REDIS_REPLY_STRING && reply->str != nullptr;
  if (c.exists) c.value = std::strtoull(reply->str, nullptr, 10);
  freeReplyObject(reply);
  return c;
}

base::Status RedisRangeStore::write_record(const std::string& record) {
  std::string error;
  redisReply* reply = record.empty() ? call(error, "DEL %s", node_key_.c_str())
                                     : call(error, "SET %s %s", node_key_.c_str(), record.c_str());
  if (reply == nullptr) return base::Error{error};
  freeReplyObject(reply);
  return base::ok_status();
}

redisReply* RedisRangeStore::call(std::string& error, const char* format, ...) {
  access_refused_ = false;
  if (!connect(error)) return nullptr;
  va_list args;
  va_start(args, format);
  auto* reply = static_cast<redisReply*>(redisvCommand(redis_, format, args));
  va_end(args);
  if (reply == nullptr) {
    error = redis_->errstr;
    disconnect();
    return nullptr;
  }
  if (refused_access(reply, error)) {
    freeReplyObject(reply);
    disconnect();
    return nullptr;
  }
  return reply;
}

bool RedisRangeStore::connect(std::string& error) {
  if (redis_ != nullptr) return true;
  redis_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, to_timeval(kTimeoutMs));
  if (redis_ == nullptr || redis_->err) {
    error = redis_ != nullptr ? redis_->errstr : "out of memory";
    disconnect();
    return false;
  }
  redisSetTimeout(redis_, to_timeval(kTimeoutMs));
  if (authenticate(error)) return true;
  disconnect();
  return false;
}

// AUTH on every new connection, before anything else is sent on it.
bool RedisRangeStore::authenticate(std::string& error) {
  if (!credentials_.given()) return true;
  auto* reply = static_cast<redisReply*>(
      credentials_.user.empty()
          ? redisCommand(redis_, "AUTH %b", credentials_.password.data(), credentials_.password.size())
          : redisCommand(redis_, "AUTH %b %b", credentials_.user.data(), credentials_.user.size(),
                         credentials_.password.data(), credentials_.password.size()));
  if (reply == nullptr) {
    error = redis_->errstr;
    return false;
  }
  const bool refused = reply->type == REDIS_REPLY_ERROR;
  if (refused) {
    access_refused_ = true;
    error = std::string("AUTH") + (credentials_.user.empty() ? "" : " as user " + credentials_.user) + " answered " +
            std::string(reply->str, reply->len);
  }
  freeReplyObject(reply);
  return !refused;
}

// An error reply that is about access rather than ids: no AUTH when Redis wants one (NOAUTH),
// an ACL user not allowed a command or a key (NOPERM).
bool RedisRangeStore::refused_access(const redisReply* reply, std::string& error) {
  if (reply->type != REDIS_REPLY_ERROR || reply->str == nullptr) return false;
  const std::string_view text(reply->str, reply->len);
  if (text.rfind("NOAUTH", 0) == 0) {
    error = credentials_.given() ? "it asks for AUTH again"
                                 : "it requires a password: give it with --id-source-password-file FILE";
  } else if (text.rfind("NOPERM", 0) == 0) {
    error = std::string(text.substr(0, std::min<size_t>(text.size(), 120))) +
            " (the ACL user needs ~KEY* and +eval +get +set +del +incrby +exists, see contrib/redis/busyring.conf)";
  } else {
    return false;
  }
  access_refused_ = true;
  return true;
}

void RedisRangeStore::disconnect() {
  if (redis_ != nullptr) redisFree(redis_);
  redis_ = nullptr;
}

}  // namespace busyring::ids
