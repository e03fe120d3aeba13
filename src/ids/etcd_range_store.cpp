// The etcd counter's reservation transaction, its reads, and the record's rewrite.
#include "busyring/ids/etcd_range_store.h"

#include <cinttypes>
#include <cstdio>

#include "busyring/ids/etcd_wire.h"

namespace busyring::ids {
namespace {

// Lost races in a row before a call gives up (and the thread backs off): each one means another
// node reserved in between, so the counter moved on and this is progress for the cluster.
constexpr int kMaxRaces = 8;

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
    : client_(std::move(settings)), counter_key_(prefix + "/counter"), record_key_(prefix + "/node/" + node_id) {}

std::string EtcdRangeStore::set_counter_command(const std::string& value) const {
  return "etcdctl " + client_.etcdctl_flags() + " put " + counter_key_ + " " + value;
}

Reservation EtcdRangeStore::reserve(uint64_t count, const std::string& last_record, uint64_t held_end) {
  const std::optional<std::string> last = last_record.empty() ? std::nullopt : std::optional(last_record);
  for (int race = 0; race < kMaxRaces; ++race) {
    if (!known_) {
      if (auto st = read_both(); !st) return failed(st.error());
    }
    const Known k = *known_;
    if (!k.counter_exists) return outcome(Reservation::Outcome::missing);
    if (k.record != last) {
      known_.reset();
      Reservation r = outcome(Reservation::Outcome::record_moved);
      r.record = k.record.value_or("");
      return r;
    }
    if (!k.counter) {
      known_.reset();
      return failed("the counter " + counter_key_ + " holds '" + k.counter_text.substr(0, 40) +
                    "', not a number of ids: set it right with `" + set_counter_command("<value>") + "`");
    }
    const uint64_t value = *k.counter;
    if (value + 1 < held_end) {
      Reservation r = outcome(Reservation::Outcome::counter_behind);
      r.counter = value;
      return r;
    }
    if (value > UINT64_MAX - 1 - count) return failed("the counter " + counter_key_ + " is at its limit");
    const IdRange range{value + 1, value + 1 + count};
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
    if (parsed.value().succeeded) {
      known_ = Known{true, std::to_string(txn.new_counter), txn.new_counter, parsed.value().revision, txn.new_record};
      Reservation r = outcome(Reservation::Outcome::reserved);
      r.range = range;
      return r;
    }
    // Lost: the failure branch read both keys back; look at them again.
    if (auto st = take_ranges(parsed.value()); !st) return failed(st.error());
  }
  return failed("another node reserved ids between each read and transaction, " + std::to_string(kMaxRaces) +
                " times in a row");
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
