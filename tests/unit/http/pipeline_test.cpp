// http/pipeline: the per-connection queue keeps request order, answers contains() only for
// live sequences, reports full at capacity, and keeps working as indexes wrap the slot array.
#include "busyring/http/pipeline.h"

#include <catch2/catch.hpp>

#include <deque>
#include <random>

using namespace busyring::http;

namespace {
Pending entry(uint64_t value) {
  Pending p;
  p.value = value;
  return p;
}
}  // namespace

TEST_CASE("the pipeline queue pushes and pops in order up to its capacity", "[http]") {
  Pending slots[4];
  PipelineQueue q;
  q.init(slots, 4);
  CHECK(q.empty());
  CHECK_FALSE(q.full());
  for (uint64_t i = 0; i < 4; ++i) CHECK(q.push(entry(100 + i)) == i);
  CHECK(q.full());
  CHECK(q.size() == 4);
  CHECK(q.front().value == 100);
  q.pop();
  CHECK_FALSE(q.full());
  CHECK(q.front().value == 101);
  CHECK(q.size() == 3);
}

TEST_CASE("contains is true only for entries still queued", "[http]") {
  Pending slots[4];
  PipelineQueue q;
  q.init(slots, 4);
  const uint32_t a = q.push(entry(1));
  const uint32_t b = q.push(entry(2));
  CHECK(q.contains(a));
  CHECK(q.contains(b));
  CHECK_FALSE(q.contains(b + 1));  // not pushed yet
  q.pop();
  CHECK_FALSE(q.contains(a));  // popped: a late completion for it is ignored
  CHECK(q.contains(b));
  q.at(b).state = PendingState::ready;
  CHECK(q.front().state == PendingState::ready);
}

TEST_CASE("entries become ready out of order but leave in request order", "[http]") {
  Pending slots[8];
  PipelineQueue q;
  q.init(slots, 8);
  const uint32_t s0 = q.push(entry(0));
  const uint32_t s1 = q.push(entry(1));
  const uint32_t s2 = q.push(entry(2));
  q.at(s2).state = PendingState::ready;
  q.at(s1).state = PendingState::ready;
  CHECK(q.front().state == PendingState::waiting);  // the head still waits for its write
  q.at(s0).state = PendingState::ready;
  std::vector<uint64_t> out;
  while (!q.empty() && q.front().state == PendingState::ready) {
    out.push_back(q.front().value);
    q.pop();
  }
  CHECK(out == std::vector<uint64_t>{0, 1, 2});
}

TEST_CASE("the pipeline queue keeps order as its indexes wrap around", "[http]") {
  Pending slots[4];
  PipelineQueue q;
  q.init(slots, 4);
  std::deque<uint64_t> model;
  std::deque<uint32_t> seqs;
  std::mt19937 rng(9);
  uint64_t next = 0;
  for (int step = 0; step < 10000; ++step) {
    if (!q.full() && (q.empty() || rng() % 2 == 0)) {
      seqs.push_back(q.push(entry(next)));
      model.push_back(next++);
    } else {
      REQUIRE(q.front().value == model.front());
      REQUIRE(q.at(seqs.front()).value == model.front());
      q.pop();
      model.pop_front();
      seqs.pop_front();
    }
    REQUIRE(q.size() == model.size());
    for (size_t i = 0; i < seqs.size(); ++i) REQUIRE(q.at(seqs[i]).value == model[i]);
  }
  CHECK(next > 4000);
}
