// The reserving thread and the shards' side of the Redis id source.
#include "redis_block_source.h"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

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
constexpr const char* kProblemAccess =
    "Redis (the id source) refuses this node's credentials (--id-source-password-file): ids come from the reserve "
    "until it is empty (see the server log)";
constexpr const char* kProblemMissing =
    "the Redis id counter does not exist: no ids until it is set (see the server log)";

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

std::string range_text(IdRange r) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llu %llu", static_cast<unsigned long long>(r.first),
                static_cast<unsigned long long>(r.end));
  return buf;
}

// "FIRST END" -> range; empty on anything else.
IdRange parse_range(const char* text) {
  unsigned long long first = 0, end = 0;
  char tail = 0;
  if (text == nullptr || std::sscanf(text, "%llu %llu%c", &first, &end, &tail) != 2 || first == 0 || first >= end)
    return {};
  return {first, end};
}

timeval to_timeval(int ms) { return timeval{ms / 1000, (ms % 1000) * 1000}; }

}  // namespace

RedisBlockSource::RedisBlockSource(RedisEndpoint endpoint, const std::string& node_id, IdRange last_range,
                                   uint32_t reserve_ids, uint64_t held_end, uint64_t held_holes)
    : endpoint_(std::move(endpoint)),
      node_key_(endpoint_.key + ":node:" + node_id),
      half_(std::max<uint64_t>(1, reserve_ids / 2)),
      low_water_(std::max<uint64_t>(1, reserve_ids - reserve_ids / 2)),
      held_end_(std::max<uint64_t>(1, held_end)),
      last_range_(last_range.empty() ? std::string() : range_text(last_range)),
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
  if (!endpoint_.password_file.empty()) {
    auto loaded = load_redis_credentials(endpoint_.password_file);
    if (!loaded) return base::Error{loaded.error()};
    credentials_ = std::move(loaded.value());
  }
  if (auto st = ranges_log_.open(ranges_path); !st) return st;
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return base::Error{std::string("eventfd: ") + std::strerror(errno)};
  // One reservation before the shards start, so the first requests find ids; if Redis does
  // not answer now the node still starts and says so (503 until it answers).
  if (step() == Step::failed && !access_refused_.load())  // a refusal has said so already
    BR_LOG_WARN("id source: no ids reserved yet from redis %s:%u; POST /api/usages answers 503 until it has some",
                endpoint_.host.c_str(), endpoint_.port);
  // The thread starts with every signal blocked (it inherits this thread's mask): SIGTERM
  // must reach the main thread's sigwait. A thread that left it unblocked would take a SIGTERM
  // that arrives before main waits for it, and die of it, with the whole process.
  sigset_t all, before;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &before);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "busyring-ids");
    run();
  });
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return base::ok_status();
}

IdRange RedisBlockSource::take(uint32_t count) noexcept {
  if (refusal_.load(std::memory_order_relaxed) != none) return {};
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
  const uint8_t refusal = refusal_.load(std::memory_order_relaxed);
  s.refused = refusal != none;
  s.reserve_ids = available();
  s.calls = calls_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  if (refusal == missing) s.problem = kProblemMissing;
  else if (s.refused) s.problem = kProblemRefused;
  else if (!s.up && access_refused_.load(std::memory_order_relaxed)) s.problem = kProblemAccess;
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
  if (refusal_.load() != none) return check_counter_fixed();
  if (available() >= low_water_) return Step::idle;
  return reserve_range();
}

RedisBlockSource::Step RedisBlockSource::reserve_range() {
  if (!connect()) return Step::failed;
  calls_.fetch_add(1, std::memory_order_relaxed);
  auto* reply = static_cast<redisReply*>(redisCommand(redis_, "EVAL %s 2 %s %s %llu %s", kReserveScript,
                                                      endpoint_.key.c_str(), node_key_.c_str(),
                                                      static_cast<unsigned long long>(half_), last_range_.c_str()));
  if (reply == nullptr) {
    note_down(redis_->errstr);
    disconnect();
    return Step::failed;
  }
  const bool well_formed = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                           reply->element[0]->type == REDIS_REPLY_INTEGER;
  if (refused_access(reply)) {
    freeReplyObject(reply);
    disconnect();
    return Step::failed;
  }
  if (!well_formed) {
    char what[200];
    std::snprintf(what, sizeof what, "the id reservation script answered %s",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "something unexpected");
    freeReplyObject(reply);
    note_down(what);
    return Step::failed;
  }
  const long long status = reply->element[0]->integer;
  const redisReply* value = reply->element[1];
  long long top = 0;
  std::string record;
  if (value->type == REDIS_REPLY_INTEGER) top = value->integer;
  else if (value->type == REDIS_REPLY_STRING) record.assign(value->str, value->len);
  freeReplyObject(reply);
  note_up();
  if (status == 2) return refuse(missing, "");
  if (status == 0) {
    // The node's record moved on without us: Redis ran a call we gave up on. Its range is ours
    // if it lies above everything we held; anything else means Redis lost state.
    const IdRange adopted = parse_range(record.c_str());
    if (adopted.empty() || adopted.first < held_end_) {
      char what[160];
      std::snprintf(what, sizeof what, "its record of this node (%s) says '%s', not '%s'", node_key_.c_str(),
                    record.c_str(), last_range_.c_str());
      return refuse(behind, what);
    }
    BR_LOG_INFO("id source: ids %llu..%llu were reserved for this node by a call it had given up on; taking them",
                static_cast<unsigned long long>(adopted.first), static_cast<unsigned long long>(adopted.end - 1));
    return take_range(adopted);
  }
  // INCRBY returned the counter's new value: the range is (top - half, top].
  if (top < static_cast<long long>(half_) || static_cast<uint64_t>(top) - half_ + 1 < held_end_) {
    char what[160];
    std::snprintf(what, sizeof what, "it handed out ids %lld..%lld", top - static_cast<long long>(half_) + 1, top);
    return refuse(behind, what);
  }
  return take_range({static_cast<uint64_t>(top) - half_ + 1, static_cast<uint64_t>(top) + 1});
}

RedisBlockSource::Step RedisBlockSource::take_range(IdRange range) {
  // Whatever happens next, Redis is past this range: never accept it (or below it) again.
  held_end_ = range.end;
  last_range_ = range_text(range);
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

RedisBlockSource::Step RedisBlockSource::refuse(Refusal why, const char* what) {
  refusal_.store(why);
  set_halted(true);  // the shards stop at once, mid-block too
  if (why == missing)
    BR_LOG_ERROR("id source: redis %s:%u has no key %s. No ids are issued until it exists: for a new cluster run "
                 "`redis-cli -h %s -p %u SET %s 0` once; if Redis lost it, set it to the value `busyring-log stats` "
                 "prints over every node's data dir",
                 endpoint_.host.c_str(), endpoint_.port, endpoint_.key.c_str(), endpoint_.host.c_str(), endpoint_.port,
                 endpoint_.key.c_str());
  else
    BR_LOG_ERROR("id source: redis %s:%u key %s: %s, but this node already held ids up to %llu: Redis lost its "
                 "state (restarted without its append-only file?). No ids are issued until it is fixed: run "
                 "`busyring-log stats` over every node's data dir and `redis-cli -h %s -p %u SET %s <the value it "
                 "prints>`",
                 endpoint_.host.c_str(), endpoint_.port, endpoint_.key.c_str(), what,
                 static_cast<unsigned long long>(held_end_ - 1), endpoint_.host.c_str(), endpoint_.port,
                 endpoint_.key.c_str());
  return Step::failed;
}

RedisBlockSource::Step RedisBlockSource::check_counter_fixed() {
  if (!connect()) return Step::failed;
  auto* reply = static_cast<redisReply*>(redisCommand(redis_, "GET %s", endpoint_.key.c_str()));
  if (reply == nullptr) {
    note_down(redis_->errstr);
    disconnect();
    return Step::failed;
  }
  if (refused_access(reply)) {
    freeReplyObject(reply);
    disconnect();
    return Step::failed;
  }
  unsigned long long value = 0;
  const bool have = reply->type == REDIS_REPLY_STRING && reply->str != nullptr;
  if (have) value = std::strtoull(reply->str, nullptr, 10);
  freeReplyObject(reply);
  note_up();
  if (!have || value + 1 < held_end_) return Step::failed;  // still behind or missing: look again later
  // Set right by hand: the node's own record in Redis is rewritten to what the node knows.
  reply = static_cast<redisReply*>(last_range_.empty()
                                       ? redisCommand(redis_, "DEL %s", node_key_.c_str())
                                       : redisCommand(redis_, "SET %s %s", node_key_.c_str(), last_range_.c_str()));
  if (reply == nullptr) {
    note_down(redis_->errstr);
    disconnect();
    return Step::failed;
  }
  freeReplyObject(reply);
  refusal_.store(none);
  set_halted(false);
  BR_LOG_INFO("id source: redis key %s is at %llu, above every id this node held; issuing ids again",
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
  return authenticate();
}

// AUTH on every new connection, before anything else is sent on it.
bool RedisBlockSource::authenticate() {
  if (!credentials_.given()) return true;
  auto* reply = static_cast<redisReply*>(
      credentials_.user.empty()
          ? redisCommand(redis_, "AUTH %b", credentials_.password.data(), credentials_.password.size())
          : redisCommand(redis_, "AUTH %b %b", credentials_.user.data(), credentials_.user.size(),
                         credentials_.password.data(), credentials_.password.size()));
  if (reply == nullptr) {
    note_down(redis_->errstr);
    disconnect();
    return false;
  }
  const bool refused = reply->type == REDIS_REPLY_ERROR;
  if (refused) {
    char what[200];
    std::snprintf(what, sizeof what, "AUTH%s%s answered %s", credentials_.user.empty() ? "" : " as user ",
                  credentials_.user.c_str(), reply->str);
    note_access_refused(what);
  }
  freeReplyObject(reply);
  if (refused) disconnect();
  return !refused;
}

// An error reply that is about access rather than ids: no AUTH when Redis wants one (NOAUTH),
// an ACL user not allowed a command or a key (NOPERM). Said once, like a refused AUTH.
bool RedisBlockSource::refused_access(const redisReply* reply) {
  if (reply->type != REDIS_REPLY_ERROR || reply->str == nullptr) return false;
  const std::string_view error(reply->str, reply->len);
  if (error.rfind("NOAUTH", 0) == 0) {
    note_access_refused(credentials_.given() ? "it asks for AUTH again" : "it requires a password: give it with "
                                                                          "--id-source-password-file FILE");
    return true;
  }
  if (error.rfind("NOPERM", 0) == 0) {
    char what[240];
    std::snprintf(what, sizeof what, "%.*s (the ACL user needs ~KEY* and +eval +get +set +del +incrby +exists, "
                  "see contrib/redis/busyring.conf)", static_cast<int>(std::min<size_t>(error.size(), 120)), error.data());
    note_access_refused(what);
    return true;
  }
  return false;
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
  access_refused_.store(false);
  if (!up_.exchange(true)) BR_LOG_INFO("id source: redis %s:%u answers again", endpoint_.host.c_str(), endpoint_.port);
}

// One line when access is first refused (not on each retry), and none more until it works.
void RedisBlockSource::note_access_refused(const char* what) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  up_.store(false);
  if (access_refused_.exchange(true)) return;
  BR_LOG_ERROR("id source: redis %s:%u refuses this node's credentials: %s; serving from the id reserve (%llu ids "
               "left), then 503. Fix the Redis ACL (the node retries on its own) or the file (%s; then restart the node)",
               endpoint_.host.c_str(), endpoint_.port, what, static_cast<unsigned long long>(available()),
               endpoint_.password_file.empty() ? "none given" : endpoint_.password_file.c_str());
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
