// net/timers: the per-shard timeout lists. A connection between requests is on the idle list,
// its deadline refreshed by progress; one inside a request is on the request list with a
// deadline from the request's first byte, not refreshed (slowloris); lingering and closing
// connections keep their timer. Expiry pops due connections, list by list, in deadline order.
#include "net/timers.h"

#include <catch2/catch.hpp>

#include "net_rig.h"

using namespace busyring;
using namespace busyring::net;
using busyring::test::Table;

namespace {

constexpr TimerDurations kDurations{1000, 300, 50};  // idle, request, linger (ns)

}  // namespace

TEST_CASE("a connection's timer follows its state", "[net][timers]") {
  Table t;
  Timers timers(t.conns, kDurations);
  Connection& c = t.busy(10);
  timers.refresh(c, 100);
  CHECK(c.timer_list == TimerList::idle);
  CHECK(c.timer.deadline_ns == 1100);
  timers.refresh(c, 400);  // progress: the idle deadline moves
  CHECK(c.timer.deadline_ns == 1400);

  c.request.context.start_ns = 450;
  Table::start_request(c);
  timers.refresh(c, 500);
  CHECK(c.timer_list == TimerList::request);
  CHECK(c.timer.deadline_ns == 750);  // from the first byte
  timers.refresh(c, 700);  // more bytes of the same request: not refreshed
  CHECK(c.timer.deadline_ns == 750);

  c.gate = InputGate::stopped;  // never parsed again: back to the idle deadline
  timers.refresh(c, 710);
  CHECK(c.timer_list == TimerList::idle);

  timers.linger(c, 800);
  CHECK(c.timer_list == TimerList::linger);
  CHECK(c.timer.deadline_ns == 850);
  c.phase = Phase::half_closed;
  timers.refresh(c, 820);  // a lingering connection keeps its linger deadline
  CHECK(c.timer_list == TimerList::linger);
  timers.clear(c);
  CHECK(c.timer_list == TimerList::none);
  timers.clear(c);  // clearing twice is harmless
}

TEST_CASE("expiry pops due connections, idle then request then linger, in deadline order", "[net][timers]") {
  Table t(8, 8);
  Timers timers(t.conns, kDurations);
  Connection& a = t.busy(10);
  Connection& b = t.busy(11);
  Connection& r = t.busy(12);
  Connection& l = t.busy(13);
  timers.refresh(a, 0);    // idle, due at 1000
  timers.refresh(b, 500);  // idle, due at 1500
  r.request.context.start_ns = 100;
  Table::start_request(r);
  timers.refresh(r, 100);  // request, due at 400
  timers.linger(l, 0);     // linger, due at 50
  CHECK(timers.oldest_request() == &r);

  TimerList list = TimerList::none;
  CHECK(timers.pop_expired(49, list) == nullptr);
  CHECK(timers.pop_expired(1000, list) == &a);
  CHECK(list == TimerList::idle);
  CHECK(a.timer_list == TimerList::none);
  CHECK(timers.pop_expired(1000, list) == &r);
  CHECK(list == TimerList::request);
  CHECK(timers.oldest_request() == nullptr);
  CHECK(timers.pop_expired(1000, list) == &l);
  CHECK(list == TimerList::linger);
  CHECK(timers.pop_expired(1000, list) == nullptr);  // b is due later
  CHECK(timers.pop_expired(1500, list) == &b);
}
