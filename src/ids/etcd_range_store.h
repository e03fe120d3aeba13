// The etcd id counter (--id-source etcd://HOST:PORT[,HOST:PORT...]/PREFIX) behind the shared
// source's store seam (range_store.h). Keys: PREFIX/counter (the last id handed out, decimal;
// a new cluster puts 0 once, a node never creates it) and PREFIX/node/<node-id> (the last range
// handed to that node, "FIRST END").
//
// A reservation is one etcd transaction, atomic and replicated by Raft before it answers:
//   if counter.mod_revision == R and node record == what the node last took (absent: version 0)
//   then put counter = V + n, put record = "V+1 V+n+1"
//   else range counter, range record
// where V and R are the counter as last read (read again first unless learnt in the last 100 ms).
// A lost race (another node reserved between the read and the transaction) answers with the
// counter's new value in the same round trip, and the node tries again. A transaction the node
// gave up on (a timeout, a member lost mid-call) is found on the next call: the record moved on
// (adopt it) or it never ran; one that runs later compares against a counter that moved on and
// changes nothing. A counter found below ids the node held is not moved at all.
// One key changed by compare-and-swap: the cluster's reservations are serialized, about one per
// Raft write (perf/RESULTS.md); --id-reserve keeps their rate low.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "etcd_client.h"
#include "etcd_wire.h"
#include "range_store.h"

namespace busyring::ids {

class EtcdRangeStore final : public RangeStore {
 public:
  // prefix: the keys' common prefix ("/busyring/ids"); node_id: DATA_DIR/node-id.
  EtcdRangeStore(EtcdSettings settings, const std::string& prefix, const std::string& node_id);

  Reservation reserve(uint64_t count, const std::string& last_record, uint64_t held_end) override;
  base::Result<CounterRead> read_counter() override;
  base::Status write_record(const std::string& record) override;
  void interrupt_when(const std::atomic<bool>& stop) noexcept override { client_.interrupt_when(stop); }
  bool access_refused() const noexcept override { return client_.access_refused(); }
  std::string access_fix() const override;

  const char* product() const noexcept override { return "etcd"; }
  std::string where() const override { return client_.where(); }
  const std::string& counter_key() const noexcept override { return counter_key_; }
  std::string set_counter_command(const std::string& value) const override;
  const char* lost_state_hint() const noexcept override {
    return "its members' data dirs were lost or restored from an old snapshot?";
  }

 private:
  // The two keys as last read (or as the last transaction left them).
  struct Known {
    bool counter_exists = false;
    std::string counter_text;         // as stored
    std::optional<uint64_t> counter;  // nullopt: not a number
    uint64_t counter_mod_revision = 0;
    std::optional<std::string> record;  // nullopt: absent
  };
  std::optional<Reservation> settle_without_writing(const std::optional<std::string>& last, uint64_t count,
                                                    uint64_t held_end);
  std::optional<Reservation> try_transaction(const std::optional<std::string>& last, uint64_t count);
  base::Status read_both();
  base::Status take_ranges(const EtcdTxnReply& reply);

  EtcdClient client_;
  const std::string counter_key_;
  const std::string record_key_;
  std::optional<Known> known_;  // nullopt after any failure: read again before the next try
  int64_t known_at_ms_ = 0;     // when known_ was learnt (monotonic)
  simdjson::dom::parser parser_;
  std::minstd_rand random_;  // pauses after a lost race
};

}  // namespace busyring::ids
