// The store that holds a cluster's id counter (Redis, etcd), as the reserving thread sees it
// (shared_block_source.h): one call reserves a range, guarded by the node's own record in the
// store, so that a call the node gave up on is either found (and adopted) or does nothing.
//
// The store keeps two keys: the counter (the last id handed out to any node) and, per node,
// "FIRST END" of the last range it handed that node. A reservation moves the counter up by
// `count` and rewrites the node's record, in one atomic step, and only if the record still
// reads what the node last took. Everything here runs on the reserving thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "busyring/base/result.h"
#include "busyring/ids/id_range.h"

namespace busyring::ids {

struct Reservation {
  enum class Outcome : uint8_t {
    reserved,        // `range` is the node's: the counter is past it and the record names it
    record_moved,    // the node's record reads `record`, not what the node knows; nothing changed
    counter_behind,  // the counter (`counter`) lies below ids the node held; nothing changed
    missing,         // there is no counter; nothing changed
    failed,          // no answer or an error (`error`): the store may have run it or not
  };
  Outcome outcome = Outcome::failed;
  IdRange range;
  std::string record;
  uint64_t counter = 0;
  std::string error;
};

struct CounterRead {
  bool exists = false;
  uint64_t value = 0;
};

class RangeStore {
 public:
  virtual ~RangeStore() = default;

  // `count` ids above the counter, if the node's record reads `last_record` ("FIRST END" of
  // the last range the node took; "" none). `held_end`: one past the highest id the node
  // ever held; a store may refuse to move a counter found below it (counter_behind).
  virtual Reservation reserve(uint64_t count, const std::string& last_record, uint64_t held_end) = 0;
  // The counter now (a linearizable read).
  virtual base::Result<CounterRead> read_counter() = 0;
  // Sets the node's record to `record` ("" removes it): after an operator set the counter right.
  virtual base::Status write_record(const std::string& record) = 0;
  // A call in progress gives up soon after `stop` becomes true (the node is shutting down).
  virtual void interrupt_when(const std::atomic<bool>& stop) noexcept { (void)stop; }
  // After a failed call: true when the store answered but refused this node's credentials or
  // their rights (a wrong password, none where one is wanted, a user without the commands or
  // keys it needs), not when it could not be reached. The call's error says how.
  virtual bool access_refused() const noexcept { return false; }
  // What an operator does about such a refusal, as a sentence ("Fix the Redis ACL ...").
  virtual std::string access_fix() const { return ""; }

  // For log lines and /healthz: "Redis"; "redis 10.0.0.5:6379" (never the key: a refusal names
  // it on one line only); the counter's key; a shell command that sets the counter to `value`;
  // how such a store usually loses its state.
  virtual const char* product() const noexcept = 0;
  virtual std::string where() const = 0;
  virtual const std::string& counter_key() const noexcept = 0;
  virtual std::string set_counter_command(const std::string& value) const = 0;
  virtual const char* lost_state_hint() const noexcept = 0;
};

// "FIRST END" (the node's record of a range) and back; empty range on anything else.
std::string range_record(IdRange range);
IdRange parse_range_record(const std::string& text);

}  // namespace busyring::ids
