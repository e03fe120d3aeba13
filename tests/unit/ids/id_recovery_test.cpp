// ids/id_recovery: the highest id, the count, duplicates, the holes below the highest as
// ascending ranges, and holes dealt to shards round-robin in pieces of at most one block.
#include "busyring/ids/id_recovery.h"

#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <vector>

using busyring::ids::IdRange;
using busyring::ids::IdRecovery;

namespace {

std::vector<std::pair<uint64_t, uint64_t>> pairs(const std::vector<IdRange>& v) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const IdRange& r : v) out.emplace_back(r.first, r.end);
  return out;
}

using Pairs = std::vector<std::pair<uint64_t, uint64_t>>;

}  // namespace

TEST_CASE("an empty recovery has no max, no ids and no holes", "[ids]") {
  IdRecovery r;
  CHECK(r.max_id() == 0);
  CHECK(r.count() == 0);
  CHECK(r.duplicates() == 0);
  CHECK(r.holes().empty());
  r.add(0);  // id 0 is never issued: ignored
  CHECK(r.count() == 0);
  CHECK(r.max_id() == 0);
}

TEST_CASE("recovery reports max, count, duplicates and holes as ranges", "[ids]") {
  IdRecovery r;
  for (uint64_t id : {9ull, 1ull, 2ull, 3ull, 5ull, 8ull, 10ull, 200ull}) r.add(id);
  r.add(3);
  r.add(200);
  CHECK(r.max_id() == 200);
  CHECK(r.count() == 8);
  CHECK(r.duplicates() == 2);
  CHECK(pairs(r.holes()) == Pairs{{4, 5}, {6, 8}, {11, 200}});
}

TEST_CASE("holes are found across whole 64-id words and at word edges", "[ids]") {
  IdRecovery r;
  for (uint64_t id = 1; id <= 128; ++id) r.add(id);
  r.add(130);
  r.add(192);
  r.add(193);
  CHECK(pairs(r.holes()) == Pairs{{129, 130}, {131, 192}});
  IdRecovery dense;
  for (uint64_t id = 1; id <= 1000; ++id) dense.add(id);
  CHECK(dense.holes().empty());
  CHECK(dense.max_id() == 1000);
  IdRecovery lone;
  lone.add(64);
  CHECK(pairs(lone.holes()) == Pairs{{1, 64}});
}

TEST_CASE("holes agree with a reference set on random ids", "[ids]") {
  std::mt19937_64 rng(3);
  IdRecovery r;
  std::set<uint64_t> seen;
  for (int i = 0; i < 5000; ++i) {
    const uint64_t id = 1 + rng() % 20000;
    r.add(id);
    seen.insert(id);
  }
  CHECK(r.count() == seen.size());
  CHECK(r.duplicates() == 5000 - seen.size());
  CHECK(r.max_id() == *seen.rbegin());
  std::vector<uint64_t> missing;
  for (uint64_t id = 1; id <= r.max_id(); ++id)
    if (!seen.count(id)) missing.push_back(id);
  std::vector<uint64_t> from_holes;
  uint64_t prev_end = 0;
  for (const IdRange& h : r.holes()) {
    REQUIRE(!h.empty());
    REQUIRE(h.first > prev_end);  // ascending, disjoint and not adjacent
    prev_end = h.end;
    for (uint64_t id = h.first; id < h.end; ++id) from_holes.push_back(id);
  }
  CHECK(from_holes == missing);
}

TEST_CASE("holes are dealt round-robin in pieces of at most one block", "[ids]") {
  const std::vector<IdRange> holes = {{1, 10}, {20, 23}, {30, 31}};
  const auto dealt = IdRecovery::deal(holes, 2, 4);
  REQUIRE(dealt.size() == 2);
  CHECK(pairs(dealt[0]) == Pairs{{1, 5}, {9, 10}, {30, 31}});
  CHECK(pairs(dealt[1]) == Pairs{{5, 9}, {20, 23}});

  const auto one = IdRecovery::deal(holes, 1, 1000);
  CHECK(pairs(one[0]) == Pairs{{1, 10}, {20, 23}, {30, 31}});

  const auto many = IdRecovery::deal({{1, 3}}, 4, 1);
  CHECK(pairs(many[0]) == Pairs{{1, 2}});
  CHECK(pairs(many[1]) == Pairs{{2, 3}});
  CHECK(many[2].empty());
  CHECK(many[3].empty());
  CHECK(IdRecovery::deal({}, 3, 8).size() == 3);
}

TEST_CASE("merging recoveries unions ids, counts ids found twice, keeps the highest", "[ids]") {
  busyring::ids::IdRecovery a;
  busyring::ids::IdRecovery b;
  for (uint64_t id : {1, 2, 5, 130}) a.add(id);
  for (uint64_t id : {3, 5, 700}) b.add(id);
  a.merge(b);
  CHECK(a.count() == 6);
  CHECK(a.duplicates() == 1);
  CHECK(a.max_id() == 700);
  const auto holes = a.holes();
  REQUIRE(!holes.empty());
  CHECK(holes.front().first == 4);
  CHECK(holes.front().end == 5);
}

TEST_CASE("holes within held ranges run to each range's end; ids outside them are not counted", "[ids]") {
  IdRecovery r;
  for (uint64_t id : {1, 2, 4, 200, 201}) r.add(id);
  r.add(9);  // not in any held range (a record this node never reserved)
  const std::vector<IdRange> held{{1, 5}, {200, 203}, {300, 310}};
  CHECK(pairs(r.holes_within(held)) == Pairs{{3, 4}, {202, 203}, {300, 310}});
  CHECK(r.count_within(held) == 5);
  CHECK(r.count() == 6);
  CHECK(pairs(IdRecovery{}.holes_within({{5, 8}})) == Pairs{{5, 8}});
}
