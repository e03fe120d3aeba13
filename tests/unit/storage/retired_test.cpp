// storage/retired and storage/segment_ledger: the retired-segments file reads back what was
// written and refuses anything else; id spans merge; the start-up check names the first segment
// that was created (ledger or later files) and is neither on disk nor retired, and accepts a
// log whose missing segments were all retired.
#include "busyring/storage/retired.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "../support/temp_dir.h"
#include "busyring/storage/segment.h"
#include "busyring/storage/segment_ledger.h"

using namespace busyring::storage;
using busyring::test::TempDir;

namespace {

void touch_segment(const std::string& data_dir, uint32_t shard, uint32_t index) {
  REQUIRE(make_dirs(shard_dir(data_dir, shard)) == 0);
  std::ofstream(segment_path(shard_dir(data_dir, shard), index)) << "x";
}

}  // namespace

TEST_CASE("the retired file round-trips, merges id spans, and refuses a damaged text", "[storage]") {
  TempDir dir;
  auto empty = load_retired(dir.path());
  REQUIRE(empty.ok());
  CHECK(empty.value().shards.empty());
  CHECK(empty.value().through(0) == -1);

  RetiredLog log;
  log.retire_through(1, 4);
  log.retire_through(0, 2);
  log.retire_through(1, 3);  // never moves back
  log.add_ids(10, 20);
  log.add_ids(30, 40);
  log.add_ids(21, 29);  // touches both: one span
  log.add_ids(50, 60);
  REQUIRE(save_retired(dir.path(), log).ok());
  auto back = load_retired(dir.path());
  REQUIRE(back.ok());
  CHECK(back.value().through(0) == 2);
  CHECK(back.value().through(1) == 4);
  REQUIRE(back.value().ids.size() == 2);
  CHECK(back.value().ids[0].first == 10);
  CHECK(back.value().ids[0].last == 40);
  CHECK(back.value().max_id() == 60);
  CHECK(format_retired(back.value()) ==
        "busyring-retired 1\nshard 0 through 2\nshard 1 through 4\nids 10 40\nids 50 60\nend 4\n");

  for (const char* bad : {"busyring-retired 1\nshard 0 through 2\n",                 // cut short
                          "busyring-retired 1\nshard 0 through 2\nend 2\n",          // wrong count
                          "busyring-retired 1\nids 5 3\nend 1\n",                    // backwards
                          "busyring-retired 1\nshard 1 through 2\nshard 0 through 1\nend 2\n",  // order
                          "retired\nend 0\n"}) {
    std::ofstream(retired_path(dir.path()), std::ios::trunc) << bad;
    auto r = load_retired(dir.path());
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().find(retired_path(dir.path())) != std::string::npos);
  }
}

TEST_CASE("a created segment that is neither on disk nor retired refuses the start, named", "[storage]") {
  TempDir dir;
  // Nothing at all: an empty log.
  REQUIRE(check_log_complete(dir.path()).ok());

  touch_segment(dir.path(), 0, 0);
  touch_segment(dir.path(), 0, 1);
  touch_segment(dir.path(), 1, 0);
  REQUIRE(rewrite_ledger(dir.path(), {1, 0}).ok());
  REQUIRE(check_log_complete(dir.path()).ok());

  // The ledger names shard 1's segment 1 (created, then moved away): refused, named.
  const int fd = open_ledger(dir.path());
  REQUIRE(fd >= 0);
  REQUIRE(append_ledger_sync(fd, 1, 1) == 0);
  auto missing = check_log_complete(dir.path());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().find(segment_path(shard_dir(dir.path(), 1), 1) + " is missing") != std::string::npos);
  touch_segment(dir.path(), 1, 1);
  REQUIRE(check_log_complete(dir.path()).ok());

  // A gap below a later file, even without the ledger saying so.
  REQUIRE(std::remove(segment_path(shard_dir(dir.path(), 0), 0).c_str()) == 0);
  missing = check_log_complete(dir.path());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().find(segment_path(shard_dir(dir.path(), 0), 0) + " is missing") != std::string::npos);

  // Retired by the tool: fine, and appending never goes below it.
  RetiredLog log;
  log.retire_through(0, 0);
  REQUIRE(save_retired(dir.path(), log).ok());
  auto ok = check_log_complete(dir.path());
  REQUIRE(ok.ok());
  CHECK(ok.value().first_writable[0] == 1);
  CHECK(ok.value().first_writable[1] == 0);
  CHECK(ok.value().highest[1] == 1);

  // A torn last append of the ledger names nothing.
  std::ofstream(ledger_path(dir.path()), std::ios::app) << "1 7";
  REQUIRE(check_log_complete(dir.path()).ok());
  std::ofstream(ledger_path(dir.path()), std::ios::app) << "\n";
  REQUIRE_FALSE(check_log_complete(dir.path()).ok());
  ::close(fd);
}
