// busyring-log verify (and the walk under every command) on synthetic data dirs: clean logs,
// torn tails (not damage: recovery voids them), corruption, a torn tail followed by records,
// files that are no segment, bodies that are not JSON, and bad DIR arguments: exit status,
// report lines, and one stderr line per problem naming file and offset.
#include <unistd.h>

#include <catch2/catch.hpp>

#include "log_fixture.h"

using namespace busyring;
using test::body_for;
using test::count_lines;
using test::kTestSegment;
using test::LogDir;
using test::run_tool;
using test::SegmentImage;

namespace {

// One write per record, as sequential durable POSTs give.
SegmentImage image_of(std::initializer_list<uint64_t> ids) {
  SegmentImage img(kTestSegment);
  for (const uint64_t id : ids) {
    img.add(id, body_for(id));
    img.end_write();
  }
  return img;
}

}  // namespace

TEST_CASE("verify: a clean log reports every segment and shard and exits 0", "[logtool]") {
  LogDir log;
  SegmentImage a = image_of({1, 2, 5}), b = image_of({6, 7}), c = image_of({3, 4, 8});
  const std::string pa = log.put(0, 0, a), pb = log.put(0, 1, b), pc = log.put(1, 0, c);
  SegmentImage empty(kTestSegment);
  log.put(1, 1, empty);
  const auto r = run_tool({"verify", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find(pa + ": 3 records, ") != std::string::npos);
  CHECK(r.out.find("ids 1..5, clean") != std::string::npos);
  CHECK(r.out.find(pb + ": 2 records") != std::string::npos);
  CHECK(r.out.find(pc + ": 3 records") != std::string::npos);
  CHECK(r.out.find("shard-00: 2 segments, 5 records") != std::string::npos);
  CHECK(r.out.find("shard-01: 2 segments, 3 records") != std::string::npos);
  CHECK(r.out.find("4 segments, 8 records") != std::string::npos);
  CHECK(count_lines(r.out) == 4 + 2 + 1);
}

TEST_CASE("verify: a torn tail is reported with its offset but is not damage", "[logtool]") {
  LogDir log;
  SegmentImage img = image_of({1, 2});
  const uint64_t torn_at = img.raw("\x42\x52\x52\x31 partial record");
  const std::string path = log.put(0, 0, img);
  const auto r = run_tool({"verify", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("torn tail at offset " + std::to_string(torn_at)) != std::string::npos);
}

TEST_CASE("verify: a skip marker that voids a torn stretch scans clean", "[logtool]") {
  LogDir log;
  SegmentImage img = image_of({1});
  const uint64_t bad = img.raw("torn bytes");
  img.end_write();
  img.skip(bad, img.cursor);
  img.end_write();
  img.add(2, body_for(2));
  log.put(0, 0, img);
  const auto r = run_tool({"verify", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("2 records") != std::string::npos);
}

TEST_CASE("verify: corruption before valid records exits 1 naming file and offset", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t middle = img.add(2, body_for(2));
  img.end_write();
  img.add(3, body_for(3));
  img.data()[middle + 40] ^= 0x10;  // a body byte: the CRC no longer matches
  const std::string path = log.put(0, 0, img);
  const auto r = run_tool({"verify", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 1);
  const std::string expected =
      "corrupt record in " + path + " at offset " + std::to_string(middle) + " (CRC32C mismatch)";
  CHECK(r.out.find(expected) != std::string::npos);
  CHECK(r.err.find(expected) != std::string::npos);
  CHECK(count_lines(r.err) == 1);
}

TEST_CASE("verify: records after a torn tail in an earlier segment are damage", "[logtool]") {
  LogDir log;
  SegmentImage first = image_of({1});
  first.raw("\x42\x52\x52\x31 torn");
  SegmentImage second = image_of({2});
  const std::string p1 = log.put(0, 0, first), p2 = log.put(0, 1, second);
  const auto r = run_tool({"verify", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 1);
  CHECK(r.err.find(p2 + " holds records after the torn tail of " + p1) != std::string::npos);
}

TEST_CASE("verify: files that are no segment are damage, never a crash", "[logtool]") {
  LogDir log;
  SegmentImage good = image_of({1});
  log.put(0, 0, good);
  const std::string dir = storage::shard_dir(log.data(), 0);
  SECTION("random bytes") {
    SegmentImage junk(kTestSegment);
    for (size_t i = 0; i < junk.size(); ++i) junk.data()[i] = static_cast<uint8_t>((i * 2654435761u) >> 13 | 1);
    const std::string p = log.put(0, 1, junk);
    const auto r = run_tool({"verify", log.data()});
    CHECK(r.rc == 1);
    CHECK(r.err.find(p + " holds no record") != std::string::npos);
  }
  SECTION("a truncated segment") {
    SegmentImage img = image_of({2, 3, 4});
    const std::string p = log.put(0, 1, img);
    REQUIRE(truncate(p.c_str(), 1000) == 0);
    const auto r = run_tool({"verify", log.data()});
    CHECK(r.rc == 1);
    CHECK(r.err.find(p + " is 1000 bytes, not a multiple of the") != std::string::npos);
  }
  SECTION("a size that is not even a multiple of 8") {
    SegmentImage img = image_of({2});
    const std::string p = log.put(0, 1, img);
    REQUIRE(truncate(p.c_str(), 77) == 0);
    const auto r = run_tool({"verify", log.data()});
    CHECK(r.rc == 1);
    CHECK(r.err.find(p + " is 77 bytes") != std::string::npos);
  }
  SECTION("an empty file") {
    SegmentImage img(0);
    const std::string p = log.put(0, 1, img);
    const auto r = run_tool({"verify", log.data()});
    CHECK(r.rc == 1);
    CHECK(r.err.find(p + " is empty") != std::string::npos);
  }
  SECTION("a directory named like a segment") {
    const std::string p = storage::segment_path(dir, 1);
    REQUIRE(storage::make_dirs(p) == 0);
    const auto r = run_tool({"verify", log.data()});
    CHECK(r.rc == 1);
    CHECK(r.err.find("cannot read " + p) != std::string::npos);
  }
}

TEST_CASE("verify: a record whose body is not a JSON object is damage", "[logtool]") {
  LogDir log;
  SegmentImage img = image_of({1});
  const uint64_t at = img.add(2, "not json at all");
  const std::string p = log.put(0, 0, img);
  const auto r = run_tool({"verify", log.data()});
  CHECK(r.rc == 1);
  CHECK(r.err.find("not JSON objects (the first: id 2 at offset " + std::to_string(at) + ")") != std::string::npos);
}

TEST_CASE("every command says in one line what is wrong with a bad DIR", "[logtool]") {
  LogDir log;
  REQUIRE(storage::make_dirs(log.tmp.sub("empty")) == 0);
  const std::string file = log.tmp.sub("file");
  { std::ofstream(file) << "x"; }
  const struct {
    std::string dir;
    const char* says;
  } cases[] = {
      {log.tmp.sub("missing"), "No such file or directory"},
      {file, "is not a directory"},
      {log.tmp.sub("empty"), "holds no shard-KK directory"},
  };
  for (const char* cmd : {"verify", "export", "dump", "stats", "salvage"}) {
    for (const auto& c : cases) {
      INFO(cmd << " " << c.dir);
      const auto r = run_tool({cmd, c.dir});
      CHECK(r.rc == 1);
      CHECK(r.out.empty());
      CHECK(count_lines(r.err) == 1);
      CHECK(r.err.find(std::string("busyring-log: ") + cmd + ": ") == 0);
      CHECK(r.err.find(c.says) != std::string::npos);
    }
  }
}
