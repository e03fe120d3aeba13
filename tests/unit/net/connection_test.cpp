// net/connection: a connection's state as three enums and the named predicates the shard asks
// (issue 16: "nothing left to answer" was spelled out in six places). answered(): no request
// held for an answer and no answer queued, unsent or being sent. idle(): answered, no input
// kept, the parser between requests (or never to be fed again): its workspace can go back.
#include "net/connection.h"

#include <catch2/catch.hpp>

#include "busyring/api/handler.h"
#include "net_rig.h"

using namespace busyring;
using namespace busyring::net;
using busyring::test::Table;

TEST_CASE("a connection is answered only when nothing is held, queued, unsent or being sent",
          "[net][connection]") {
  Table t;
  Connection& c = t.busy(10);
  CHECK(c.phase == Phase::open);
  CHECK(c.in_use());
  CHECK_FALSE(c.closing());
  CHECK(c.answered());
  CHECK(c.idle());

  c.queue.push(api::Handler::interim_continue());
  CHECK_FALSE(c.answered());
  c.queue.pop();
  c.out_len = 40;
  CHECK_FALSE(c.answered());
  c.out_len = 0;
  c.send_in_flight = true;
  CHECK_FALSE(c.answered());
  c.send_in_flight = false;
  c.gate = InputGate::held;  // a complete request waits for the log: it still needs its answer
  CHECK_FALSE(c.answered());
  CHECK_FALSE(c.idle());
  c.gate = InputGate::open;
  CHECK(c.answered());
}

TEST_CASE("a connection is idle once answered, with no input kept and the parser between requests",
          "[net][connection]") {
  Table t;
  Connection& c = t.busy(10);
  c.backlog_len = 5;
  CHECK(c.answered());
  CHECK_FALSE(c.idle());  // input waits in the backlog
  c.backlog_len = 0;
  Table::start_request(c);
  CHECK_FALSE(c.idle());  // inside a request: its head and body live in the workspace
  c.gate = InputGate::stopped;
  CHECK(c.idle());  // ... unless the parser is never fed again
}

TEST_CASE("the lifecycle and receive states answer the shard's questions", "[net][connection]") {
  Table t;
  Connection& c = t.busy(10);
  for (const Phase p : {Phase::answer_then_close, Phase::answer_then_half_close}) {
    c.phase = p;
    CHECK(c.closes_after_answers());
    CHECK_FALSE(c.closing());
  }
  c.phase = Phase::half_closed;
  CHECK_FALSE(c.closes_after_answers());
  c.phase = Phase::closing;
  CHECK(c.closing());
  c.phase = Phase::open;

  CHECK_FALSE(c.recv_armed());
  CHECK_FALSE(c.recv_paused());
  c.recv = RecvState::armed;
  CHECK(c.recv_armed());
  c.recv = RecvState::pausing;  // cancel on its way: still armed, already paused
  CHECK(c.recv_armed());
  CHECK(c.recv_paused());
  c.recv = RecvState::paused;
  CHECK_FALSE(c.recv_armed());
  CHECK(c.recv_paused());
  c.recv = RecvState::off;

  // A released slot reads as closed to a handler that still holds it.
  t.conns.release(c);
  CHECK(c.phase == Phase::free);
  CHECK_FALSE(c.in_use());
  CHECK(c.closing());
}
