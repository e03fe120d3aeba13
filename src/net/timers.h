// Per-shard timeouts without a timer per connection: three FIFO lists (idle, request, linger),
// each with one fixed duration, so each list is ordered by deadline and expiry looks only at
// the heads. The loop wakes at least every 100 ms to check them. Which list a connection is on
// follows its state (refresh()); what expiry does is the shard's business.
#pragma once

#include <cstdint>

#include "connection.h"
#include "slot_list.h"

namespace busyring::net {

struct TimerDurations {
  uint64_t idle_ns = 0;     // --idle-timeout: no progress on a connection between requests
  uint64_t request_ns = 0;  // --request-timeout: from a request's first byte to its last
  uint64_t linger_ns = 0;   // after our half-close, for the peer's EOF
};

class Timers {
 public:
  Timers(ConnectionTable& conns, const TimerDurations& durations) noexcept;

  // Puts c on the list its state calls for: a started request has until its request deadline
  // (not refreshed by each byte: slowloris); otherwise the idle deadline runs from now (bytes
  // in, a send completed), which also closes a client that stops reading its answers (its sends
  // stall, and it is no longer read once its pipeline is full). Lingering and closing
  // connections keep what they have.
  void refresh(Connection& c, uint64_t now_ns) noexcept;
  // After our half-close: the peer has linger_ns to close its side.
  void linger(Connection& c, uint64_t now_ns) noexcept;
  void clear(Connection& c) noexcept;

  // A connection whose deadline has passed, taken off its list (`list` says which), or nullptr
  // when none is due. Lists are looked at in order: idle, request, linger.
  Connection* pop_expired(uint64_t now_ns, TimerList& list) noexcept;
  // The request in progress longest (the request list's head), or nullptr.
  Connection* oldest_request() noexcept;

 private:
  struct LinksOf {
    ConnectionTable* conns;
    SlotLinks& operator()(uint32_t slot) const noexcept { return conns->at(slot).timer.links; }
  };
  using List = SlotList<LinksOf>;
  static constexpr size_t kLists = static_cast<size_t>(TimerList::count) - 1;  // none has no list

  List& list_of(TimerList list) noexcept { return lists_[static_cast<size_t>(list) - 1]; }
  void set(Connection& c, TimerList list, uint64_t deadline_ns) noexcept;

  ConnectionTable& conns_;
  TimerDurations durations_;
  List lists_[kLists];
};

}  // namespace busyring::net
