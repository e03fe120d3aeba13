// Unit tests of the id accounting behind stats: holes in [1, max] as ranges (capped, with
// the full count kept), duplicates, id order not mattering, and density.
#include <catch2/catch.hpp>
#include <vector>

#include "../../../tools/log/holes.h"

using namespace busyring::logtool;

TEST_CASE("no ids: no max, no holes, density 0", "[logtool]") {
  std::vector<uint64_t> ids;
  const IdSummary s = summarize_ids(ids, 20);
  CHECK(s.records == 0);
  CHECK(s.max_id == 0);
  CHECK(s.hole_ids == 0);
  CHECK(s.hole_ranges == 0);
  CHECK(density(s) == 0.0);
}

TEST_CASE("dense ids in any order have no holes and density 1", "[logtool]") {
  std::vector<uint64_t> ids = {5, 3, 1, 2, 4};
  const IdSummary s = summarize_ids(ids, 20);
  CHECK(s.records == 5);
  CHECK(s.max_id == 5);
  CHECK(s.holes.empty());
  CHECK(s.duplicates == 0);
  CHECK(density(s) == 1.0);
}

TEST_CASE("holes are ranges, including one below the lowest id", "[logtool]") {
  std::vector<uint64_t> ids = {10, 4, 5, 9, 13, 7};
  const IdSummary s = summarize_ids(ids, 20);
  CHECK(s.max_id == 13);
  CHECK(s.holes == std::vector<IdRange>{{1, 3}, {6, 6}, {8, 8}, {11, 12}});
  CHECK(s.hole_ranges == 4);
  CHECK(s.hole_ids == 7);
  CHECK(density(s) == Approx(6.0 / 13.0));
}

TEST_CASE("only the first ranges are kept, the count covers them all", "[logtool]") {
  std::vector<uint64_t> ids;
  for (uint64_t id = 2; id <= 200; id += 2) ids.push_back(id);  // every odd id is a hole
  const IdSummary s = summarize_ids(ids, 20);
  CHECK(s.hole_ranges == 100);
  CHECK(s.hole_ids == 100);
  REQUIRE(s.holes.size() == 20);
  CHECK(s.holes.front() == IdRange{1, 1});
  CHECK(s.holes.back() == IdRange{39, 39});
}

TEST_CASE("duplicates are counted once per extra record and fill no hole", "[logtool]") {
  std::vector<uint64_t> ids = {1, 2, 2, 2, 4, 4};
  const IdSummary s = summarize_ids(ids, 20);
  CHECK(s.records == 6);
  CHECK(s.duplicates == 3);
  CHECK(s.holes == std::vector<IdRange>{{3, 3}});
  CHECK(s.hole_ids == 1);
}

TEST_CASE("a huge id makes one huge hole without memory per id", "[logtool]") {
  std::vector<uint64_t> ids = {1, UINT64_MAX};
  const IdSummary s = summarize_ids(ids, 20);
  CHECK(s.max_id == UINT64_MAX);
  CHECK(s.holes == std::vector<IdRange>{{2, UINT64_MAX - 1}});
  CHECK(s.hole_ids == UINT64_MAX - 2);
}

TEST_CASE("id 0 counts as a record but fills no hole", "[logtool]") {
  std::vector<uint64_t> ids = {0, 2};
  const IdSummary s = summarize_ids(ids, 20);
  CHECK(s.records == 2);
  CHECK(s.holes == std::vector<IdRange>{{1, 1}});
}

TEST_CASE("ids in retired spans are retired, not holes; the rest of a gap stays a hole", "[logtool]") {
  std::vector<uint64_t> ids = {2, 4, 12};
  // Retired: 1-3 (1 and 3 not on disk), 6-7, and 10-15 (past 12 too: max_id follows it).
  const IdSummary s = summarize_ids(ids, 20, {{1, 3}, {6, 7}, {10, 15}});
  CHECK(s.max_id == 15);
  CHECK(s.retired_ids == 2 + 2 + 5);
  CHECK(s.holes == std::vector<IdRange>{{5, 5}, {8, 9}});
  CHECK(s.hole_ids == 3);
  CHECK(s.duplicates == 0);
  CHECK(density(s) == Approx(12.0 / 15.0));
}
