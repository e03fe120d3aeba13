// The reserving thread and the shards' side of the Redis id source.
#include "busyring/ids/redis_block_source.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "busyring/base/assert.h"
#include "busyring/base/log.h"

namespace busyring::ids {
namespace {

constexpr int kTimeoutMs = 1000;      // connect and each command
constexpr int kBackoffMinMs = 50;     // after a failed call, doubling...
constexpr int kBackoffMaxMs = 1000;   // ...up to this
constexpr int kIdlePollMs = 1000;     // a full reserve: look again this often anyway

constexpr const char* kProblemDown =
    "Redis (the id source) does not answer: ids come from the reserve until it is empty (see the server log)";
constexpr const char* kProblemRefused =
    "the Redis id counter is behind ids this node holds: no ids until it is set right (see the server log)";

timeval to_timeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

}  // namespace

RedisBlockSource::RedisBlockSource(RedisEndpoint endpoint, uint32_t reserve_ids, uint64_t held_end,
                                   uint64_t held_holes)
    : endpoint_(std::move(endpoint)),
      half_(std::max<uint64_t>(1, reserve_ids / 2)),
      low_water_(std::max<uint64_t>(1, reserve_ids - reserve_ids / 2)),
      held_end_(std::max<uint64_t>(1, held_end)),
      held_holes_(held_holes) {
  BR_ASSERT(half_ <= IdReserve::kMaxRange);
}

RedisBlockSource::~RedisBlockSource() {
  stop_.store(true);
  if (thread_.joinable()) {
    wake();
    thread_.join();
  }
  disconnect();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

base::Status RedisBlockSource::start(const std::string& ranges_path) {
  if (auto st = ranges_log_.open(ranges_path); !st) return st;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return base::Error{std::string("eventfd: ") + std::strerror(errno)};
  // One reservation before the shards start, so the first requests find ids; if Redis does
  // not answer now the node still starts and says so (503 until it answers).
  if (step() == Step::failed)
    BR_LOG_WARN("id source: no ids reserved yet from redis %s:%u; POST /api/usages answers 503 until it answers",
                endpoint_.host.c_str(), endpoint_.port);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "busyring-ids");
    run();
  });
  return base::ok_status();
}

IdRange RedisBlockSource::take(uint32_t count) noexcept {
  if (refused_.load(std::memory_order_relaxed)) return {};
  const IdRange r = reserve_.take(count);
  // Under the low-water mark: one shard wakes the reserving thread (one write per refill).
  wake_if_low();
  return r;
}

void RedisBlockSource::holes_taken(uint64_t count) noexcept {
  uint64_t left = held_holes_.load(std::memory_order_relaxed);
  while (!held_holes_.compare_exchange_weak(left, left - std::min(left, count), std::memory_order_relaxed)) {
  }
  wake_if_low();
}

SourceStats RedisBlockSource::stats() const noexcept {
  SourceStats s;
  s.shared = true;
  s.up = up_.load(std::memory_order_relaxed);
  s.refused = refused_.load(std::memory_order_relaxed);
  s.reserve_ids = available();
  s.calls = calls_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  if (s.refused) s.problem = kProblemRefused;
  else if (!s.up) s.problem = kProblemDown;
  return s;
}

void RedisBlockSource::run() {
  int backoff_ms = kBackoffMinMs;
  while (!stop_.load()) {
    wake_pending_.store(false);  // before looking, so a shard's later take wakes us again
    switch (step()) {
      case Step::again:
        backoff_ms = kBackoffMinMs;
        break;
      case Step::idle:
        backoff_ms = kBackoffMinMs;
        wait(kIdlePollMs);
        break;
      case Step::failed:
        wait(backoff_ms);
        backoff_ms = std::min(backoff_ms * 2, kBackoffMaxMs);
        break;
    }
  }
}

RedisBlockSource::Step RedisBlockSource::step() {
  if (refused_.load()) return check_counter_fixed();
  if (available() >= low_water_) return Step::idle;
  return reserve_range();
}

RedisBlockSource::Step RedisBlockSource::reserve_range() {
  if (!connect()) return Step::failed;
  calls_.fetch_add(1, std::memory_order_relaxed);
  auto* reply = static_cast<redisReply*>(redisCommand(redis_, "INCRBY %s %llu", endpoint_.key.c_str(),
                                                      static_cast<unsigned long long>(half_)));
  if (reply == nullptr) {
    note_down(redis_->errstr);
    disconnect();
    return Step::failed;
  }
  if (reply->type != REDIS_REPLY_INTEGER) {
    char what[160];
    std::snprintf(what, sizeof what, "INCRBY %s answered %s", endpoint_.key.c_str(),
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "something other than an integer");
    freeReplyObject(reply);
    note_down(what);
    return Step::failed;
  }
  const long long top = reply->integer;
  freeReplyObject(reply);
  note_up();
  // INCRBY returned the counter's new value: the range is (top - half, top].
  const IdRange range{static_cast<uint64_t>(top) - half_ + 1, static_cast<uint64_t>(top) + 1};
  if (top < static_cast<long long>(half_) || range.first < held_end_) {
    refused_.store(true);
    BR_LOG_ERROR("id source: redis %s:%u key %s handed out ids %lld..%lld, but this node already held ids "
                 "up to %llu: Redis lost its counter (restarted without its append-only file?). No ids are "
                 "issued until it is fixed: run `busyring-log stats` over every node's data dir and "
                 "`redis-cli -h %s -p %u SET %s <the value it prints>`",
                 endpoint_.host.c_str(), endpoint_.port, endpoint_.key.c_str(), top - static_cast<long long>(half_) + 1,
                 top, static_cast<unsigned long long>(held_end_ - 1), endpoint_.host.c_str(), endpoint_.port,
                 endpoint_.key.c_str());
    return Step::failed;
  }
  // Whatever happens next, Redis is past this range: never accept it (or below it) again.
  held_end_ = range.end;
  if (auto st = ranges_log_.append(range); !st) {
    // Not durably recorded: not issued. These ids stay unused (holes no node will fill).
    errors_.fetch_add(1, std::memory_order_relaxed);
    BR_LOG_ERROR("id source: %s; ids %llu..%llu are left unused", st.error().c_str(),
                 static_cast<unsigned long long>(range.first), static_cast<unsigned long long>(range.end - 1));
    return Step::failed;
  }
  const bool published = reserve_.publish(range);
  BR_ASSERT(published);  // under the low-water mark at most one range is partly unused
  return Step::again;
}

RedisBlockSource::Step RedisBlockSource::check_counter_fixed() {
  if (!connect()) return Step::failed;
  auto* reply = static_cast<redisReply*>(redisCommand(redis_, "GET %s", endpoint_.key.c_str()));
  if (reply == nullptr) {
    note_down(redis_->errstr);
    disconnect();
    return Step::failed;
  }
  unsigned long long value = 0;
  const bool have = reply->type == REDIS_REPLY_STRING && reply->str != nullptr;
  if (have) value = std::strtoull(reply->str, nullptr, 10);
  freeReplyObject(reply);
  note_up();
  if (!have || value + 1 < held_end_) return Step::failed;  // still behind: look again later
  refused_.store(false);
  BR_LOG_INFO("id source: redis key %s is at %llu again, above every id this node held; issuing ids again",
              endpoint_.key.c_str(), value);
  return Step::again;
}

bool RedisBlockSource::connect() {
  if (redis_ != nullptr) return true;
  redis_ = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, to_timeval(kTimeoutMs));
  if (redis_ == nullptr || redis_->err) {
    note_down(redis_ != nullptr ? redis_->errstr : "out of memory");
    disconnect();
    return false;
  }
  redisSetTimeout(redis_, to_timeval(kTimeoutMs));
  return true;
}

void RedisBlockSource::disconnect() {
  if (redis_ != nullptr) redisFree(redis_);
  redis_ = nullptr;
}

void RedisBlockSource::note_down(const char* what) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  if (up_.exchange(false))
    BR_LOG_ERROR("id source: redis %s:%u: %s; serving from the id reserve (%llu ids left), then 503",
                 endpoint_.host.c_str(), endpoint_.port, what,
                 static_cast<unsigned long long>(available()));
}

void RedisBlockSource::note_up() {
  if (!up_.exchange(true)) BR_LOG_INFO("id source: redis %s:%u answers again", endpoint_.host.c_str(), endpoint_.port);
}

void RedisBlockSource::wait(int timeout_ms) {
  pollfd p{wake_fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) > 0) {
    uint64_t n = 0;
    if (::read(wake_fd_, &n, sizeof n) < 0) { /* EAGAIN: another read took it */ }
  }
}

void RedisBlockSource::wake() noexcept {
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) { /* EAGAIN: the counter is already non-zero */ }
}

}  // namespace busyring::ids
