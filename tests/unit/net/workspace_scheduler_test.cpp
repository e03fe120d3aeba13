// net/workspace_scheduler: workspaces go to connections in arrival order. One that finds none
// free parks its input (receive buffers, in order) and waits; none jumps the queue, even when a
// workspace came back meanwhile; the longest waiter is served first, its input handed back in
// order. Under pressure the oldest slow request is shed, once per waiter, and counted until its
// workspace is back.
#include "net/workspace_scheduler.h"

#include <catch2/catch.hpp>

#include "net_rig.h"

using namespace busyring;
using namespace busyring::net;
using busyring::test::Table;

TEST_CASE("connections without a workspace wait in order and get their parked input back", "[net][scheduler]") {
  Table t(8, 1);
  WorkspaceScheduler s(t.conns);
  s.init(16, 0);
  Connection& a = t.idle(10);
  Connection& b = t.idle(11);
  Connection& c = t.idle(12);
  REQUIRE(s.attach(a) == ConnectionTable::Attach::ok);
  REQUIRE(s.attach(b) == ConnectionTable::Attach::none);  // the one workspace is taken
  s.park(b, 3, 100, 1);
  s.park(b, 9, 50, 1);
  CHECK(b.gate == InputGate::parked);
  CHECK(s.waiting());
  ConnectionTable::Attach how = ConnectionTable::Attach::ok;
  CHECK(s.serve_next(how) == nullptr);  // none free yet

  s.release_if_idle(a);  // a is idle: its workspace goes back
  CHECK(a.ws == nullptr);
  CHECK(s.attach(c) == ConnectionTable::Attach::none);  // c may not jump the queue
  s.park(c, 4, 10, 2);
  CHECK(s.waiting_count() == 2);

  Connection* served = s.serve_next(how);
  REQUIRE(served == &b);
  CHECK(how == ConnectionTable::Attach::ok);
  CHECK(b.gate == InputGate::open);
  CHECK(b.ws != nullptr);
  uint16_t bid = 0;
  uint32_t len = 0;
  REQUIRE(s.pop_parked(b, bid, len));
  CHECK(bid == 3);
  CHECK(len == 100);
  REQUIRE(s.pop_parked(b, bid, len));
  CHECK(bid == 9);
  CHECK(len == 50);
  CHECK_FALSE(s.pop_parked(b, bid, len));
  CHECK(s.serve_next(how) == nullptr);  // c waits for the next free one

  s.leave(c);  // c closes while waiting
  CHECK_FALSE(s.waiting());
  REQUIRE(s.pop_parked(c, bid, len));
  CHECK(bid == 4);
}

TEST_CASE("a connection that is not idle keeps its workspace", "[net][scheduler]") {
  Table t(8, 2);
  WorkspaceScheduler s(t.conns);
  s.init(16, 0);
  Connection& a = t.busy(10);
  Table::start_request(a);
  s.release_if_idle(a);
  CHECK(a.ws != nullptr);
  a.gate = InputGate::stopped;  // never parsed again: the partial request goes too
  s.release_if_idle(a);
  CHECK(a.ws == nullptr);
}

TEST_CASE("under pressure the oldest slow request is shed, one per waiter", "[net][scheduler]") {
  Table t(8, 2);
  WorkspaceScheduler s(t.conns);
  s.init(16, 0);
  Timers timers(t.conns, TimerDurations{1'000'000, 1'000'000, 1'000'000});
  Connection& slow = t.busy(10);
  Connection& newer = t.busy(11);
  slow.request.context.start_ns = 100;
  Table::start_request(slow);
  timers.refresh(slow, 100);
  newer.request.context.start_ns = 900;
  Table::start_request(newer);
  timers.refresh(newer, 900);
  CHECK(s.next_to_shed(timers, 1000, 50) == nullptr);  // nobody waits: no pressure

  Connection& waiter = t.idle(12);
  REQUIRE(s.attach(waiter) == ConnectionTable::Attach::none);
  s.park(waiter, 1, 10, 1000);
  CHECK(s.next_to_shed(timers, 120, 50) == nullptr);  // the oldest is within its grace
  CHECK(s.next_to_shed(timers, 1000, 50) == &slow);
  CHECK(slow.shed);
  CHECK(slow.timer_list == TimerList::none);
  CHECK(s.shedding() == 1);
  CHECK(s.next_to_shed(timers, 2000, 50) == nullptr);  // one per waiter, counted until it is back
  s.on_release(slow);
  CHECK(s.shedding() == 0);
  CHECK_FALSE(slow.shed);
  CHECK(s.next_to_shed(timers, 2000, 50) == &newer);
}
