// storage/recover_all: every shard directory of a real data dir is recovered, each with its
// own visitor (so one per scan thread), positions only for this run's shards while shard dirs
// of an earlier, wider run still count, a torn tail repaired on disk, and the first failing
// directory's error (corruption named by file) refusing the whole start.
#include "busyring/storage/recover_all.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/storage/segment.h"
#include "segment_image.h"

using namespace busyring::storage;
using busyring::base::align_up;
using busyring::test::body_for;
using busyring::test::CollectingVisitor;
using busyring::test::SegmentImage;
using busyring::test::TempDir;

namespace {

constexpr uint64_t kSegment = 128 * 1024;

uint32_t offset_align(const std::string& path) {
  DioAlign a;
  REQUIRE(dio_alignment(path, a) == 0);
  return a.offset;
}

// Shard `shard` of data_dir gets one segment holding ids [first, first + count); returns the
// offset where its appends resume.
uint64_t make_shard(const std::string& data_dir, uint32_t shard, uint64_t first, uint64_t count,
                    const std::string& torn = "") {
  const std::string dir = shard_dir(data_dir, shard);
  REQUIRE(make_dirs(dir) == 0);
  const std::string path = segment_path(dir, 0);
  REQUIRE(create_segment_sync(path, kSegment) == 0);
  const uint32_t align = offset_align(path);
  SegmentImage img(kSegment, align);
  for (uint64_t id = first; id < first + count; ++id) img.add(id, body_for(id));
  const uint64_t resume = align_up(img.cursor, align);
  if (!torn.empty()) img.raw(torn);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const auto n = static_cast<size_t>(align_up(img.cursor, align));
  REQUIRE(pwrite(fd, img.data(), n, 0) == static_cast<ssize_t>(n));
  ::close(fd);
  return resume;
}

// The server's repair with no in-flight window (only a torn tail at the very end is torn).
const RecoveryOptions kRepair{true, 0, 0};

// Hands out one collecting visitor per shard directory and remembers which.
struct Visitors {
  RecordVisitor* visitor_for(uint32_t shard) {
    auto& v = by_shard[shard];
    REQUIRE(v == nullptr);  // asked once per directory
    v = std::make_unique<CollectingVisitor>();
    order.push_back(shard);
    return v.get();
  }
  std::map<uint32_t, std::unique_ptr<CollectingVisitor>> by_shard;
  std::vector<uint32_t> order;
};

}  // namespace

TEST_CASE("a data dir without shard directories is an empty log", "[storage]") {
  TempDir tmp;
  Visitors v;
  auto r = recover_all(tmp.path(), 3, kRepair, [&](uint32_t s) { return v.visitor_for(s); });
  REQUIRE(r.ok());
  CHECK(r.value().shard_dirs == 0);
  CHECK(r.value().records == 0);
  REQUIRE(r.value().positions.size() == 3);
  for (const AppendPosition& p : r.value().positions) {
    CHECK(p.segment == 0);
    CHECK(p.offset == 0);
  }
  CHECK(v.order.empty());
}

TEST_CASE("every shard directory is recovered with its own visitor, also those of a wider earlier run",
          "[storage]") {
  TempDir tmp;
  // An earlier run had 5 shards (shard-03 is missing: it never wrote); this run has 2.
  const uint64_t resume0 = make_shard(tmp.path(), 0, 1, 10);
  const uint64_t resume1 = make_shard(tmp.path(), 1, 11, 3);
  make_shard(tmp.path(), 2, 14, 7);
  make_shard(tmp.path(), 4, 21, 1);
  Visitors v;
  auto r = recover_all(tmp.path(), 2, kRepair, [&](uint32_t s) { return v.visitor_for(s); });
  REQUIRE(r.ok());
  const DataDirRecovery& rec = r.value();
  CHECK(rec.shard_dirs == 4);
  CHECK(rec.records == 21);
  CHECK(rec.bytes_scanned == 4 * kSegment);
  CHECK(v.order == std::vector<uint32_t>{0, 1, 2, 4});  // in shard order, before the scan
  CHECK(v.by_shard.at(0)->ids == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(v.by_shard.at(1)->ids == std::vector<uint64_t>{11, 12, 13});
  CHECK(v.by_shard.at(2)->ids.size() == 7);
  CHECK(v.by_shard.at(4)->ids == std::vector<uint64_t>{21});
  REQUIRE(rec.positions.size() == 2);  // shard 2 and 4's logs are read, never appended to
  CHECK(rec.positions[0].segment == 0);
  CHECK(rec.positions[0].offset == resume0);
  CHECK(rec.positions[1].offset == resume1);
}

TEST_CASE("a null visitor is allowed, and a torn tail is voided on disk", "[storage]") {
  TempDir tmp;
  const uint64_t resume = make_shard(tmp.path(), 0, 1, 4, std::string(40, '\x5a'));
  // Read only first: judged, counted nowhere, nothing written.
  auto read_only = recover_all(tmp.path(), 1, RecoveryOptions{}, nullptr);
  REQUIRE(read_only.ok());
  CHECK(read_only.value().torn_tails == 0);
  CHECK(read_only.value().positions[0].offset == resume);
  auto r = recover_all(tmp.path(), 1, kRepair, [](uint32_t) -> RecordVisitor* { return nullptr; });
  REQUIRE(r.ok());
  CHECK(r.value().records == 4);
  CHECK(r.value().torn_tails == 1);
  CHECK(r.value().positions[0].offset > resume);  // after the skip marker that voids the tear
  // Repaired, not just read: a second recovery finds nothing torn and resumes at the same place.
  auto again = recover_all(tmp.path(), 1, kRepair, nullptr);
  REQUIRE(again.ok());
  CHECK(again.value().records == 4);
  CHECK(again.value().torn_tails == 0);
  CHECK(again.value().positions[0].offset == r.value().positions[0].offset);
}

TEST_CASE("one corrupt shard directory refuses the start, naming its file", "[storage]") {
  TempDir tmp;
  make_shard(tmp.path(), 0, 1, 3);
  make_shard(tmp.path(), 1, 4, 3);
  // Damage in the middle of shard 1's log: a valid record follows the bad bytes.
  const std::string path = segment_path(shard_dir(tmp.path(), 1), 0);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(pwrite(fd, "XXXXXXXX", 8, 0) == 8);
  ::close(fd);
  Visitors v;
  auto r = recover_all(tmp.path(), 2, kRepair, [&](uint32_t s) { return v.visitor_for(s); });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("corrupt record in " + path + " at offset 0") != std::string::npos);
}

TEST_CASE("a data dir that cannot be listed is an error that names it", "[storage]") {
  TempDir tmp;
  const std::string file = tmp.sub("not-a-dir");
  std::ofstream(file) << "x";
  auto r = recover_all(file, 1, kRepair, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("cannot list " + file) != std::string::npos);
}
