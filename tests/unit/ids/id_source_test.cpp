// ids/id_source: the id source a start chooses, on a real data dir. With its own counter the
// node issues the holes below the highest id first, then counts on above it; a data dir that
// once took ranges from Redis (DATA_DIR/id-ranges) refuses to run on its own counter, and one
// whose records were not reserved from Redis refuses to join a cluster, both before any
// connection to Redis is tried.
#include "busyring/ids/id_source.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/ids/held_ranges.h"

using namespace busyring::ids;
using busyring::test::TempDir;

namespace {

IdRecovery recovered_ids(std::initializer_list<uint64_t> ids) {
  IdRecovery r;
  for (const uint64_t id : ids) r.add(id);
  return r;
}

std::vector<std::pair<uint64_t, uint64_t>> pairs(const std::vector<IdRange>& v) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const IdRange& r : v) out.emplace_back(r.first, r.end);
  return out;
}

std::pair<uint64_t, uint64_t> pair_of(IdRange r) { return {r.first, r.end}; }

IdSourceOptions options_for(const std::string& data_dir, bool shared, IdSourceKind store = IdSourceKind::redis) {
  IdSourceOptions o;
  o.data_dir = data_dir;
  o.kind = shared ? store : IdSourceKind::local;
  // Never reached by these cases: each is decided before any store is opened.
  o.redis = RedisEndpoint{"127.0.0.1", 1, "busyring:test", ""};
  o.etcd.members = {{"127.0.0.1", 1}};
  o.etcd.prefix = "/busyring/test";
  o.reserve_ids = 64;
  return o;
}

}  // namespace

TEST_CASE("with its own counter, the holes come first and new blocks start above the highest id", "[ids]") {
  TempDir dir;
  auto start = open_id_source(options_for(dir.path(), false), recovered_ids({1, 2, 5, 6, 9}));
  REQUIRE(start.ok());
  CHECK(pairs(start.value().holes) == std::vector<std::pair<uint64_t, uint64_t>>{{3, 5}, {7, 9}});
  REQUIRE(start.value().source != nullptr);
  CHECK(pair_of(start.value().source->take(4)) == std::pair<uint64_t, uint64_t>{10, 14});
  CHECK(pair_of(start.value().source->take(1)) == std::pair<uint64_t, uint64_t>{14, 15});
  CHECK_FALSE(start.value().source->stats().shared);
}

TEST_CASE("an empty log on its own counter starts at id 1 with nothing to reissue", "[ids]") {
  TempDir dir;
  auto start = open_id_source(options_for(dir.path(), false), IdRecovery{});
  REQUIRE(start.ok());
  CHECK(start.value().holes.empty());
  CHECK(pair_of(start.value().source->take(2)) == std::pair<uint64_t, uint64_t>{1, 3});
}

TEST_CASE("a data dir that reserved ranges from Redis refuses its own counter", "[ids]") {
  TempDir dir;
  std::ofstream(held_ranges_path(dir.path())) << "1 101\n";
  auto start = open_id_source(options_for(dir.path(), false), recovered_ids({1, 2}));
  REQUIRE_FALSE(start.ok());
  CHECK(start.error().find("--id-source redis://") != std::string::npos);
  CHECK(start.error().find(held_ranges_path(dir.path())) != std::string::npos);
}

TEST_CASE("records whose ids no shared counter reserved keep a data dir out of a cluster, Redis or etcd", "[ids]") {
  TempDir dir;
  std::ofstream(held_ranges_path(dir.path())) << "1 11\n";
  for (const IdSourceKind store : {IdSourceKind::redis, IdSourceKind::etcd}) {
    auto start = open_id_source(options_for(dir.path(), true, store), recovered_ids({1, 2, 50}));
    REQUIRE_FALSE(start.ok());
    CHECK(start.error().find("not reserved from a shared counter") != std::string::npos);
  }
}

TEST_CASE("an etcd credentials file that cannot be read stops the start, naming the flag", "[ids]") {
  TempDir dir;
  IdSourceOptions o = options_for(dir.path(), true, IdSourceKind::etcd);
  o.etcd.password_file = dir.path() + "/absent";
  auto start = open_id_source(o, IdRecovery{});
  REQUIRE_FALSE(start.ok());
  CHECK(start.error().find("--id-source-password-file") != std::string::npos);
  CHECK(start.error().find(o.etcd.password_file) != std::string::npos);
}

TEST_CASE("a Redis credentials file that cannot be read stops the start, naming the flag", "[ids]") {
  TempDir dir;
  IdSourceOptions o = options_for(dir.path(), true);
  o.redis.password_file = dir.path() + "/absent";
  auto start = open_id_source(o, IdRecovery{});
  REQUIRE_FALSE(start.ok());
  CHECK(start.error().find("--id-source-password-file " + o.redis.password_file) != std::string::npos);
}

TEST_CASE("a damaged id-ranges file is refused with its line, whichever the source", "[ids]") {
  TempDir dir;
  std::ofstream(held_ranges_path(dir.path())) << "1 11\nnonsense\n";
  for (const bool redis : {false, true}) {
    auto start = open_id_source(options_for(dir.path(), redis), IdRecovery{});
    REQUIRE_FALSE(start.ok());
    CHECK(start.error().find("line 2") != std::string::npos);
  }
}
