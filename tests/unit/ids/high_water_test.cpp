// ids/high_water and the local id source: blocks never go past what DATA_DIR/id-ranges covers;
// the file runs ahead of the counter; a restart resumes above the log's and the retired
// segments' ids, never below them, and retired ids are never holes.
#include "ids/high_water.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>

#include "../support/temp_dir.h"
#include "busyring/ids/held_ranges.h"
#include "busyring/ids/id_source.h"

using namespace busyring::ids;
using busyring::test::TempDir;

namespace {

uint64_t file_high_water(const std::string& path) {
  bool local = false;
  auto ranges = load_held_ranges(path, &local);
  REQUIRE(ranges.ok());
  REQUIRE(local);
  REQUIRE(ranges.value().size() == 1);
  CHECK(ranges.value()[0].first == 1);
  return ranges.value()[0].end;
}

}  // namespace

TEST_CASE("the local counter's blocks stay under the high water written to id-ranges", "[ids]") {
  TempDir dir;
  const std::string path = held_ranges_path(dir.path());
  HighWaterBlockSource source(path, 1, 0, 64);
  REQUIRE(source.start().ok());
  uint64_t next = 1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (next <= 200 && std::chrono::steady_clock::now() < deadline) {
    const IdRange r = source.take(8);
    if (r.empty()) continue;  // the thread is writing the next high water: ids come back soon
    CHECK(r.first == next);
    next = r.end;
    // Every id handed out is below what the file says, whenever it is read.
    CHECK(r.end <= file_high_water(path));
  }
  CHECK(next > 200);  // the writer kept ahead: several reserves went out
  CHECK_FALSE(source.stats().shared);
  CHECK(source.stats().serving());
}

TEST_CASE("a restarted local source resumes above the log and the retired ids; those are no holes", "[ids]") {
  TempDir dir;
  const std::string path = held_ranges_path(dir.path());
  std::ofstream(path) << "local\n1 1000\n";
  IdRecovery on_disk;
  for (const uint64_t id : {1, 2, 4, 90, 95}) on_disk.add(id);
  IdSourceOptions o;
  o.data_dir = dir.path();
  o.reserve_ids = 64;
  o.retired = {IdRange{40, 101}};  // a retired segment held ids 40..100
  auto start = open_id_source(o, on_disk);
  REQUIRE(start.ok());
  // Holes below the highest id, less the retired span: 3 and 5..39 only.
  REQUIRE(start.value().holes.size() == 2);
  CHECK(start.value().holes[0].first == 3);
  CHECK(start.value().holes[0].end == 4);
  CHECK(start.value().holes[1].first == 5);
  CHECK(start.value().holes[1].end == 40);
  const IdRange fresh = start.value().source->take(4);
  CHECK(fresh.first == 101);
  CHECK(file_high_water(path) >= 1000);  // never moves back

  // The same dir in a cluster: refused, it issued its own ids.
  o.kind = IdSourceKind::redis;
  auto redis = open_id_source(o, on_disk);
  REQUIRE_FALSE(redis.ok());
  CHECK(redis.error().find("--id-source local") != std::string::npos);
}
