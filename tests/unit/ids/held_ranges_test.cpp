// ids/held_ranges: ranges appended durably read back in order; a torn last line is ignored;
// a damaged line is refused with its line number; a missing file is no ranges.
#include "busyring/ids/held_ranges.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>

#include "../support/temp_dir.h"

using busyring::ids::HeldRangesLog;
using busyring::ids::load_held_ranges;

TEST_CASE("held ranges: appended, then loaded in order", "[ids]") {
  busyring::test::TempDir dir;
  const std::string path = busyring::ids::held_ranges_path(dir.path());
  REQUIRE(load_held_ranges(path).value().empty());
  {
    HeldRangesLog log;
    REQUIRE(log.open(path));
    REQUIRE(log.append({1, 129}));
    REQUIRE(log.append({385, 513}));
  }
  const auto ranges = load_held_ranges(path);
  REQUIRE(ranges);
  REQUIRE(ranges.value().size() == 2);
  CHECK(ranges.value()[1].first == 385);
  CHECK(ranges.value()[1].end == 513);
}

TEST_CASE("held ranges: a torn last line is ignored, a bad line refused", "[ids]") {
  busyring::test::TempDir dir;
  const std::string path = busyring::ids::held_ranges_path(dir.path());
  { std::ofstream(path) << "1 129\n129 25"; }
  auto ranges = load_held_ranges(path);
  REQUIRE(ranges);
  CHECK(ranges.value().size() == 1);
  { std::ofstream(path) << "1 129\nx 7\n"; }
  ranges = load_held_ranges(path);
  REQUIRE_FALSE(ranges);
  CHECK(ranges.error().find("line 2") != std::string::npos);
  { std::ofstream(path) << "9 9\n"; }  // empty range
  CHECK_FALSE(load_held_ranges(path));
}
