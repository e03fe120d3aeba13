// The etcd counter's reservation transaction, its reads, and the record's rewrite.
#include "etcd_range_store.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <thread>

#include "etcd_wire.h"

namespace busyring::ids {
namespace {

// Lost races: each one means another node reserved in between (the counter moved on: progress
// for the cluster), and the failure branch already read the new value, so the first retry goes
// at once; later ones after a random pause of up to 2^race ms (at most 32), so that nodes that
// asked at the same moment spread out instead of colliding again (every attempt is a Raft
// write). A call gives up (the thread backs off) after this long of lost races.
constexpr int64_t kRaceBudgetMs = 2000;
constexpr int kMaxRacePauseMs = 32;

// What the node last learnt of the counter is used without reading it again for this long: a
// node reserving in a burst (its reserve draining fast) skips the read. Older, another node has
// likely reserved since, and a transaction that loses its compare costs a Raft write (an fsync
// on a quorum) where a linearizable read costs a heartbeat round.
constexpr int64_t kFreshMs = 100;

int64_t monotonic_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Reservation outcome(Reservation::Outcome o) {
  Reservation r;
  r.outcome = o;
  return r;
}

Reservation failed(std::string error) {
  Reservation r = outcome(Reservation::Outcome::failed);
  r.error = std::move(error);
  return r;
}

}  // namespace

EtcdRangeStore::EtcdRangeStore(EtcdSettings settings, const std::string& prefix, const std::string& node_id)
    : client_(std::move(settings)),
      counter_key_(prefix + "/counter"),
      record_key_(prefix + "/node/" + node_id),
      random_(static_cast<std::minstd_rand::result_type>(std::hash<std::string>{}(node_id) ^
                                                         static_cast<size_t>(std::random_device{}()))) {}

std::string EtcdRangeStore::set_counter_command(const std::string& value) const {
  return "etcdctl " + client_.etcdctl_flags() + " put " + counter_key_ + " " + value;
}

std::string EtcdRangeStore::access_fix() const {
  const std::string& file = client_.settings().password_file;
  return "Fix the etcd user's roles (readwrite on " + counter_key_.substr(0, counter_key_.rfind('/')) +
         "/ with --prefix; the node retries on its own) or the file (" + (file.empty() ? "none given" : file) +
         "; then restart the node)";
}

Reservation EtcdRangeStore::reserve(uint64_t count, const std::string& last_record, uint64_t held_end) {
  const std::optional<std::string> last = last_record.empty() ? std::nullopt : std::optional(last_record);
  const int64_t give_up_ms = monotonic_ms() + kRaceBudgetMs;
  for (int race = 0;; ++race) {
    if (!known_ || monotonic_ms() - known_at_ms_ > kFreshMs) {
      if (auto st = read_both(); !st) return failed(st.error());
    }
    if (auto settled = settle_without_writing(last, count, held_end)) return *settled;
    if (auto done = try_transaction(last, count)) return *done;
    // Lost the race: known_ holds what the failure branch read back.
    if (monotonic_ms() >= give_up_ms)
      return failed("other nodes reserved ids first " + std::to_string(race + 1) + " times in a row (for " +
                    std::to_string(kRaceBudgetMs) + " ms): more reservations a second than etcd serializes; raise "
                    "--id-reserve");
    if (race > 0) {
      const int pause_ms = std::min(1 << std::min(race, 5), kMaxRacePauseMs);
      std::this_thread::sleep_for(
          std::chrono::microseconds(std::uniform_int_distribution<int>(0, pause_ms * 1000)(random_)));
    }
  }
}

// What the keys say when no transaction should be sent: the counter missing or not a number,
// the node's record not what it knows, the counter behind what it held, or at its limit.
std::optional<Reservation> EtcdRangeStore::settle_without_writing(const std::optional<std::string>& last,
                                                                  uint64_t count, uint64_t held_end) {
  const Known& k = *known_;
  if (!k.counter_exists) return outcome(Reservation::Outcome::missing);
  if (k.record != last) {
    Reservation r = outcome(Reservation::Outcome::record_moved);
    r.record = k.record.value_or("");
    known_.reset();
    return r;
  }
  if (!k.counter) {
    const std::string text = k.counter_text.substr(0, 40);
    known_.reset();
    return failed("the counter " + counter_key_ + " holds '" + text + "', not a number of ids: set it right with `" +
                  set_counter_command("<value>") + "`");
  }
  if (*k.counter + 1 < held_end) {
    Reservation r = outcome(Reservation::Outcome::counter_behind);
    r.counter = *k.counter;
    return r;
  }
  if (*k.counter > UINT64_MAX - 1 - count) return failed("the counter " + counter_key_ + " is at its limit");
  return std::nullopt;
}

// The reservation transaction on what known_ says: reserved, failed, or nullopt for a lost race
// (known_ then holds the keys as the failure branch read them).
std::optional<Reservation> EtcdRangeStore::try_transaction(const std::optional<std::string>& last, uint64_t count) {
  const Known k = *known_;
  const IdRange range{*k.counter + 1, *k.counter + 1 + count};
  EtcdReserveTxn txn;
  txn.counter_key = counter_key_;
  txn.counter_mod_revision = k.counter_mod_revision;
  txn.new_counter = range.end - 1;
  txn.record_key = record_key_;
  txn.last_record = last;
  txn.new_record = range_record(range);
  known_.reset();  // until the reply says what the keys hold now
  auto reply = client_.post("/v3/kv/txn", etcd_reserve_txn_json(txn));
  if (!reply) return failed(reply.error());
  auto parsed = parse_etcd_txn_reply(parser_, reply.value());
  if (!parsed) return failed(parsed.error());
  if (!parsed.value().succeeded) {
    if (auto st = take_ranges(parsed.value()); !st) return failed(st.error());
    return std::nullopt;
  }
  known_ = Known{true, std::to_string(txn.new_counter), txn.new_counter, parsed.value().revision, txn.new_record};
  known_at_ms_ = monotonic_ms();
  Reservation r = outcome(Reservation::Outcome::reserved);
  r.range = range;
  return r;
}

base::Status EtcdRangeStore::read_both() {
  auto reply = client_.post("/v3/kv/txn", etcd_read_txn_json({counter_key_, record_key_}));
  if (!reply) return base::Error{reply.error()};
  auto parsed = parse_etcd_txn_reply(parser_, reply.value());
  if (!parsed) return base::Error{parsed.error()};
  return take_ranges(parsed.value());
}

base::Status EtcdRangeStore::take_ranges(const EtcdTxnReply& reply) {
  if (reply.ranges.size() != 2)
    return base::Error{"etcd answered " + std::to_string(reply.ranges.size()) + " reads for the counter and the record"};
  Known k;
  const EtcdKv& counter = reply.ranges[0];
  k.counter_exists = counter.exists;
  k.counter_mod_revision = counter.mod_revision;
  k.counter_text = counter.value;
  k.counter = parse_counter_value(counter.value);
  if (reply.ranges[1].exists) k.record = reply.ranges[1].value;
  known_ = k;
  known_at_ms_ = monotonic_ms();
  return base::ok_status();
}

base::Result<CounterRead> EtcdRangeStore::read_counter() {
  auto reply = client_.post("/v3/kv/txn", etcd_read_txn_json({counter_key_}));
  if (!reply) return base::Error{reply.error()};
  auto parsed = parse_etcd_txn_reply(parser_, reply.value());
  if (!parsed) return base::Error{parsed.error()};
  if (parsed.value().ranges.size() != 1) return base::Error{"etcd answered no read for the counter"};
  const EtcdKv& kv = parsed.value().ranges[0];
  CounterRead c;
  if (!kv.exists) return c;
  const auto v = parse_counter_value(kv.value);
  if (!v) return c;  // not a number: as good as missing until set right
  c.exists = true;
  c.value = *v;
  return c;
}

base::Status EtcdRangeStore::write_record(const std::string& record) {
  known_.reset();
  auto reply = record.empty() ? client_.post("/v3/kv/deleterange", etcd_delete_range_json(record_key_))
                              : client_.post("/v3/kv/put", etcd_put_json(record_key_, record));
  if (!reply) return base::Error{reply.error()};
  return base::ok_status();
}

}  // namespace busyring::ids
