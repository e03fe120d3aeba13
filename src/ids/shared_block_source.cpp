// The reserving thread and the shards' side of a shared id counter, whatever the store.
#include "shared_block_source.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "busyring/base/assert.h"
#include "busyring/base/log.h"

namespace busyring::ids {
std::string range_record(IdRange r) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIu64, r.first, r.end);
  return buf;
}

IdRange parse_range_record(const std::string& text) {
  unsigned long long first = 0, end = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%llu %llu%c", &first, &end, &tail) != 2 || first == 0 || first >= end) return {};
  return {first, end};
}

SharedBlockSource::SharedBlockSource(std::unique_ptr<RangeStore> store, IdRange last_range, uint32_t reserve_ids,
                                     uint64_t held_end, uint64_t held_holes)
    : store_(std::move(store)),
      half_(std::max<uint64_t>(1, reserve_ids / 2)),
      low_water_(std::max<uint64_t>(1, reserve_ids - reserve_ids / 2)),
      problem_down_(std::string(store_->product()) +
                    " (the id source) does not answer: ids come from the reserve until it is empty (see the "
                    "server log)"),
      problem_refused_(std::string("the ") + store_->product() +
                       " id counter is behind ids this node holds: no ids until it is set right (see the server log)"),
      problem_missing_(std::string("the ") + store_->product() +
                       " id counter does not exist: no ids until it is set (see the server log)"),
      problem_access_(std::string(store_->product()) +
                      " (the id source) refuses this node's credentials (--id-source-password-file): ids come from "
                      "the reserve until it is empty (see the server log)"),
      held_end_(std::max<uint64_t>(1, held_end)),
      last_range_(last_range.empty() ? std::string() : range_record(last_range)),
      held_holes_(held_holes) {
  BR_ASSERT(half_ <= IdReserve::kMaxRange);
  store_->interrupt_when(refill_.stopping());
}

SharedBlockSource::~SharedBlockSource() { refill_.stop(); }

base::Status SharedBlockSource::start(const std::string& ranges_path) {
  if (auto st = ranges_log_.open(ranges_path); !st) return st;
  if (auto st = refill_.open(); !st) return st;
  // One reservation before the shards start, so the first requests find ids; if the store does
  // not answer now the node still starts and says so (503 until it answers).
  if (step() == Step::failed && !access_refused_.load())  // a refusal has said so already
    BR_LOG_WARN("id source: no ids reserved yet from %s; POST /api/usages answers 503 until it has some",
                store_->where().c_str());
  refill_.start([this] { return step(); });
  return base::ok_status();
}

IdRange SharedBlockSource::take(uint32_t count) noexcept {
  if (refusal_.load(std::memory_order_relaxed) != none) return {};
  const IdRange r = reserve_.take(count);
  // Under the low-water mark: one shard wakes the reserving thread (one write per refill).
  wake_if_low();
  return r;
}

void SharedBlockSource::holes_taken(uint64_t count) noexcept {
  uint64_t left = held_holes_.load(std::memory_order_relaxed);
  while (!held_holes_.compare_exchange_weak(left, left - std::min(left, count), std::memory_order_relaxed)) {
  }
  wake_if_low();
}

SourceStats SharedBlockSource::stats() const noexcept {
  SourceStats s;
  s.shared = true;
  s.up = up_.load(std::memory_order_relaxed);
  const uint8_t refusal = refusal_.load(std::memory_order_relaxed);
  s.refused = refusal != none;
  s.reserve_ids = available();
  s.calls = calls_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  if (refusal == missing) s.problem = problem_missing_.c_str();
  else if (s.refused) s.problem = problem_refused_.c_str();
  else if (!s.up && access_refused_.load(std::memory_order_relaxed)) s.problem = problem_access_.c_str();
  else if (!s.up) s.problem = problem_down_.c_str();
  return s;
}

SharedBlockSource::Step SharedBlockSource::step() {
  if (refusal_.load() != none) return check_counter_fixed();
  if (available() >= low_water_) return Step::idle;
  return reserve_range();
}

SharedBlockSource::Step SharedBlockSource::reserve_range() {
  calls_.fetch_add(1, std::memory_order_relaxed);
  const Reservation r = store_->reserve(half_, last_range_, held_end_);
  if (r.outcome == Reservation::Outcome::failed) {
    note_down(r.error);
    return Step::failed;
  }
  note_up();
  char what[200];
  switch (r.outcome) {
    case Reservation::Outcome::missing:
      return refuse(missing, "");
    case Reservation::Outcome::record_moved:
      return adopt(r.record);
    case Reservation::Outcome::counter_behind:
      std::snprintf(what, sizeof what, "its counter is at %" PRIu64, r.counter);
      return refuse(behind, what);
    case Reservation::Outcome::reserved:
      break;
    case Reservation::Outcome::failed:
      BR_ASSERT(false);
  }
  BR_ASSERT(r.range.size() == half_);
  if (r.range.first < held_end_) {
    std::snprintf(what, sizeof what, "it handed out ids %" PRIu64 "..%" PRIu64, r.range.first, r.range.end - 1);
    return refuse(behind, what);
  }
  return take_range(r.range);
}

// The node's record moved on without us: the store ran a call we gave up on. Its range is ours
// if it lies above everything we held; anything else means the store lost state.
SharedBlockSource::Step SharedBlockSource::adopt(const std::string& record) {
  const IdRange adopted = parse_range_record(record);
  if (adopted.empty() || adopted.first < held_end_) {
    char what[200];
    std::snprintf(what, sizeof what, "its record of this node says '%.40s', not '%s'", record.c_str(),
                  last_range_.c_str());
    return refuse(behind, what);
  }
  BR_LOG_INFO("id source: ids %" PRIu64 "..%" PRIu64
              " were reserved for this node by a call it had given up on; taking them",
              adopted.first, adopted.end - 1);
  return take_range(adopted);
}

SharedBlockSource::Step SharedBlockSource::take_range(IdRange range) {
  // Whatever happens next, the store is past this range: never accept it (or below it) again.
  held_end_ = range.end;
  last_range_ = range_record(range);
  if (auto st = ranges_log_.append(range); !st) {
    // Not durably recorded: not issued. These ids stay unused (holes no node will fill).
    errors_.fetch_add(1, std::memory_order_relaxed);
    BR_LOG_ERROR("id source: %s; ids %" PRIu64 "..%" PRIu64 " are left unused", st.error().c_str(), range.first,
                 range.end - 1);
    return Step::failed;
  }
  const bool published = reserve_.publish(range);
  BR_ASSERT(published);  // under the low-water mark at most one range is partly unused
  return Step::again;
}

SharedBlockSource::Step SharedBlockSource::refuse(Refusal why, const char* what) {
  refusal_.store(why);
  set_halted(true);  // the shards stop at once, mid-block too
  const std::string where = store_->where();
  const std::string& key = store_->counter_key();
  if (why == missing)
    BR_LOG_ERROR("id source: %s has no key %s. No ids are issued until it exists: for a new cluster run `%s` once; "
                 "if %s lost it, set it to the value `busyring-log stats` prints over every node's data dir",
                 where.c_str(), key.c_str(), store_->set_counter_command("0").c_str(), store_->product());
  else
    BR_LOG_ERROR("id source: %s key %s: %s, but this node already held ids up to %" PRIu64 ": %s lost its state "
                 "(%s). No ids are issued until it is fixed: run `busyring-log stats` over every node's data dir "
                 "and `%s`",
                 where.c_str(), key.c_str(), what, held_end_ - 1, store_->product(), store_->lost_state_hint(),
                 store_->set_counter_command("<the value it prints>").c_str());
  return Step::failed;
}

SharedBlockSource::Step SharedBlockSource::check_counter_fixed() {
  const auto counter = store_->read_counter();
  if (!counter) {
    note_down(counter.error());
    return Step::failed;
  }
  note_up();
  const CounterRead& c = counter.value();
  if (!c.exists || c.value + 1 < held_end_) return Step::failed;  // still behind or missing: look again later
  // Set right by hand: the node's own record in the store is rewritten to what the node knows.
  if (auto st = store_->write_record(last_range_); !st) {
    note_down(st.error());
    return Step::failed;
  }
  refusal_.store(none);
  set_halted(false);
  BR_LOG_INFO("id source: %s counter %s is at %" PRIu64 ", above every id this node held; issuing ids again",
              store_->product(), store_->counter_key().c_str(), c.value);
  return Step::again;
}

void SharedBlockSource::note_down(const std::string& what) {
  if (store_->access_refused()) return note_access_refused(what);
  errors_.fetch_add(1, std::memory_order_relaxed);
  if (up_.exchange(false))
    BR_LOG_ERROR("id source: %s: %s; serving from the id reserve (%" PRIu64 " ids left), then 503",
                 store_->where().c_str(), what.c_str(), available());
}

// One line when access is first refused (not on each retry), and none more until it works.
void SharedBlockSource::note_access_refused(const std::string& what) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  up_.store(false);
  if (access_refused_.exchange(true)) return;
  BR_LOG_ERROR("id source: %s refuses this node's credentials: %s; serving from the id reserve (%" PRIu64
               " ids left), then 503. %s",
               store_->where().c_str(), what.c_str(), available(), store_->access_fix().c_str());
}

void SharedBlockSource::note_up() {
  access_refused_.store(false);
  if (!up_.exchange(true)) BR_LOG_INFO("id source: %s answers again", store_->where().c_str());
}

}  // namespace busyring::ids
