// Unit tests of the open-loop schedule: intended send times at the configured rate, the
// coordinated-omission correction (a stalled reply charges the requests queued behind it),
// pipelining windows, early batching, closed loop, and missed sends at the end.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "../../../tools/load/pacer.h"

using busyring::load::Pacer;
using busyring::load::schedule_slot;
using busyring::load::ScheduleSlot;

namespace {

constexpr uint64_t ms = 1'000'000;
constexpr uint64_t us = 1'000;
constexpr uint64_t start = 1'000 * ms;  // an arbitrary monotonic start time
constexpr uint64_t never = UINT64_MAX;

}  // namespace

TEST_CASE("connections split the rate and stagger so that sends are evenly spaced", "[load]") {
  // 4 connections at 4000 req/s: each every 1 ms, offset by 250 us from the previous.
  std::vector<uint64_t> intended;
  for (uint32_t i = 0; i < 4; i++) {
    const ScheduleSlot slot = schedule_slot(i, 4, 4000);
    REQUIRE(slot.interval_ns == Approx(1e6));
    Pacer p;
    p.init(start, slot, 1);
    for (int k = 0; k < 3; k++) {
      intended.push_back(p.next_due_ns());
      REQUIRE(p.issue_due(p.next_due_ns(), never) == 1);
      (void)p.complete(p.next_due_ns());
    }
  }
  std::sort(intended.begin(), intended.end());
  for (size_t k = 0; k < intended.size(); k++) {
    REQUIRE(intended[k] == start + k * 250 * us);
  }
}

TEST_CASE("rate zero is a closed loop", "[load]") {
  const ScheduleSlot slot = schedule_slot(3, 8, 0);
  REQUIRE(slot.interval_ns == 0);
  Pacer p;
  p.init(start, slot, 2);
  REQUIRE_FALSE(p.open_loop());
  // The window fills at once; latency counts from the moment the window had room.
  REQUIRE(p.issue_due(start + 5 * us, never) == 2);
  REQUIRE(p.issue_due(start + 6 * us, never) == 0);
  REQUIRE(p.complete(start + 35 * us) == 30 * us);
  REQUIRE(p.issue_due(start + 40 * us, never) == 1);
  REQUIRE(p.complete(start + 50 * us) == 45 * us);
  REQUIRE(p.complete(start + 60 * us) == 20 * us);
  REQUIRE(p.issue_due(start + 60 * us, start + 60 * us) == 0);  // past the stop time
}

TEST_CASE("an open-loop connection sends nothing before its intended time", "[load]") {
  Pacer p;
  p.init(start, ScheduleSlot{1e6, 0}, 1);  // 1000 req/s
  REQUIRE(p.issue_due(start - 1, never) == 0);
  REQUIRE(p.issue_due(start, never) == 1);
  REQUIRE(p.complete(start + 40 * us) == 40 * us);
  REQUIRE(p.issue_due(start + ms - 1, never) == 0);
  REQUIRE(p.next_due_ns() == start + ms);
  REQUIRE(p.issue_due(start + ms, never) == 1);
  REQUIRE(p.complete(start + ms + 40 * us) == 40 * us);
  REQUIRE(p.issued() == 2);
}

TEST_CASE("a stalled reply charges every request queued behind it from its intended time",
          "[load]") {
  // 1000 req/s on one connection, pipeline 1. The server answers in 10 us, except the first
  // reply, which takes 100 ms: requests 1..100 fall due meanwhile and go out one by one as
  // replies return, each timed from when it should have left (wrk2's correction).
  Pacer p;
  p.init(start, ScheduleSlot{1e6, 0}, 1);
  REQUIRE(p.issue_due(start, never) == 1);
  uint64_t now = start + 100 * ms;
  std::vector<uint64_t> latencies;
  latencies.push_back(p.complete(now));
  while (latencies.size() < 200) {
    if (p.issue_due(now, never) == 0) {  // caught up: idle until the next slot
      now = p.next_due_ns();
      REQUIRE(p.issue_due(now, never) == 1);
    }
    now += 10 * us;
    latencies.push_back(p.complete(now));
  }
  REQUIRE(latencies[0] == 100 * ms);
  // Request k (intended at k ms) leaves when reply k-1 lands at 100 ms + (k-1) * 10 us.
  for (uint64_t k = 1; k <= 100; k++) {
    INFO("request " << k);
    REQUIRE(latencies[k] == 100 * ms + k * 10 * us - k * ms);
  }
  // Once caught up, latency is the service time again, and the rate was kept throughout.
  REQUIRE(latencies[150] == 10 * us);
  REQUIRE(p.issued() == 200);
  REQUIRE(p.next_due_ns() == start + 200 * ms);
}

TEST_CASE("a pipelined connection catches up a stall in one burst", "[load]") {
  Pacer p;
  p.init(start, ScheduleSlot{1e6, 0}, 4);
  REQUIRE(p.issue_due(start, never) == 1);
  // Nothing comes back for 10 ms: three more requests leave on time, then the window is full.
  REQUIRE(p.issue_due(start + 3 * ms, never) == 3);
  REQUIRE_FALSE(p.has_room());
  REQUIRE(p.issue_due(start + 10 * ms, never) == 0);
  REQUIRE(p.oldest_issue_ns() == start);
  for (uint64_t k = 0; k < 4; k++) REQUIRE(p.complete(start + 10 * ms) == (10 - k) * ms);
  // Requests 4..9 were due; 4 of them fit the window and leave together.
  REQUIRE(p.issue_due(start + 10 * ms, never) == 4);
  REQUIRE(p.complete(start + 10 * ms + 50 * us) == 6 * ms + 50 * us);
}

TEST_CASE("a request sent early with a batch is timed from when it left", "[load]") {
  Pacer p;
  p.init(start, ScheduleSlot{100 * us, 0}, 4, 250 * us);  // 10000 req/s, 250 us batches
  // At start, requests intended at 0, 100 and 200 us all leave together.
  REQUIRE(p.issue_due(start, never) == 3);
  REQUIRE(p.complete(start + 30 * us) == 30 * us);
  REQUIRE(p.complete(start + 40 * us) == 40 * us);
  REQUIRE(p.complete(start + 50 * us) == 50 * us);
  // A late one is still timed from its intended time.
  REQUIRE(p.issue_due(start + 700 * us, never) == 4);  // intended 300..600 us
  REQUIRE(p.complete(start + 710 * us) == 410 * us);
}

TEST_CASE("lost requests are forgotten and the schedule runs on", "[load]") {
  Pacer p;
  p.init(start, ScheduleSlot{1e6, 0}, 2);
  REQUIRE(p.issue_due(start + ms, never) == 2);
  REQUIRE(p.drop_inflight() == 2);
  REQUIRE(p.inflight() == 0);
  // Reconnected 5 ms later: requests 2 and 3 are overdue and leave at once.
  REQUIRE(p.issue_due(start + 5 * ms, never) == 2);
  REQUIRE(p.complete(start + 5 * ms) == 3 * ms);
}

TEST_CASE("requests due before the end but never sent are counted as missed", "[load]") {
  Pacer p;
  p.init(start, ScheduleSlot{1e6, 0.5e6}, 1);  // due at 0.5, 1.5, 2.5 ... ms
  const uint64_t stop = start + 10 * ms;         // 10 requests fit: 0.5 .. 9.5 ms
  REQUIRE(p.missed(stop) == 10);
  REQUIRE(p.issue_due(start + ms, stop) == 1);
  REQUIRE(p.missed(stop) == 9);
  (void)p.complete(start + 2 * ms);
  REQUIRE(p.issue_due(start + 9 * ms + 600 * us, stop) == 1);
  (void)p.complete(start + 9 * ms + 700 * us);
  REQUIRE(p.issue_due(start + 9 * ms + 700 * us, stop) == 1);
  REQUIRE(p.missed(stop) == 7);
  REQUIRE(Pacer{}.missed(stop) == 0);  // closed loop never misses

  Pacer wide;
  wide.init(start, ScheduleSlot{1e6, 0.5e6}, 64);
  REQUIRE(wide.issue_due(start + 20 * ms, stop) == 10);  // nothing intended at or after stop
  REQUIRE(wide.missed(stop) == 0);
}
