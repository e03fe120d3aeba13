// busyring-log dump and stats on synthetic data dirs: dump's record, skip-marker, void, torn
// and end lines with offsets (and the scan resumed past corruption); stats' counts, density,
// hole ranges and per-shard records in text and JSON, and duplicates failing it.
#include <catch2/catch.hpp>

#include <fstream>

#include "busyring/storage/retired.h"
#include "log_fixture.h"

using namespace busyring;
using test::body_for;
using test::count_lines;
using test::kTestSegment;
using test::LogDir;
using test::run_tool;
using test::SegmentImage;

TEST_CASE("dump: one line per record with offset, id, ISO time, length and body", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  img.add(7, body_for(7), 1478009511123456789ull);
  img.end_write();
  const uint64_t second = img.add(8, body_for(8), 1478009511123456790ull);
  log.put(3, 0, img);
  const auto r = run_tool({"dump", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("shard-03 seg-00000000.log off=0 id=7 arrival=2016-11-01T14:11:51.123456789Z len=" +
                   std::to_string(body_for(7).size()) + " body=" + body_for(7) + "\n") != std::string::npos);
  CHECK(r.out.find("off=" + std::to_string(second) + " id=8 ") != std::string::npos);
  CHECK(r.out.find("shard-03 seg-00000000.log end: 2 records") != std::string::npos);
  CHECK(count_lines(r.out) == 3);
}

TEST_CASE("dump: skip markers, void stretches and torn tails get their own lines", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t bad = img.raw("torn bytes!");
  img.end_write();
  const uint64_t marker = img.skip(bad, img.cursor);
  img.end_write();
  img.add(2, body_for(2));
  img.end_write();
  const uint64_t torn = img.raw("\x42\x52\x52\x31 last write torn");
  log.put(0, 0, img);
  const auto r = run_tool({"dump", log.data()});
  INFO(r.out);
  CHECK(r.rc == 0);
  CHECK(r.out.find("off=" + std::to_string(bad) + " void bytes up to off=") != std::string::npos);
  CHECK(r.out.find("off=" + std::to_string(marker) + " skip marker: bytes [" + std::to_string(bad) + ", " +
                   std::to_string(marker) + ") are void") != std::string::npos);
  CHECK(r.out.find("off=" + std::to_string(torn) + " torn tail (") != std::string::npos);
}

TEST_CASE("dump: a corrupt stretch is named and the records after it still listed", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t bad = img.add(2, body_for(2));
  img.end_write();
  const uint64_t next = img.add(3, body_for(3));
  img.data()[bad + 35] ^= 0x40;
  const std::string path = log.put(0, 0, img);
  const auto r = run_tool({"dump", log.data()});
  INFO(r.out);
  CHECK(r.rc == 1);
  CHECK(r.out.find("off=" + std::to_string(bad) + " CORRUPT (CRC32C mismatch), next valid record at off=" +
                   std::to_string(next)) != std::string::npos);
  CHECK(r.out.find(" id=3 ") != std::string::npos);
  CHECK(r.err.find(path) != std::string::npos);
}

TEST_CASE("stats: records, bytes, max id, density, holes and shards", "[logtool]") {
  LogDir log;
  SegmentImage a(kTestSegment), b(kTestSegment);
  for (const uint64_t id : {1, 2, 3, 7}) a.add(id, body_for(id));
  for (const uint64_t id : {10, 4}) b.add(id, body_for(id));
  log.put(0, 0, a);
  log.put(1, 0, b);
  uint64_t bytes = 0;
  for (const uint64_t id : {1, 2, 3, 7, 10, 4}) bytes += storage::record_bytes(body_for(id).size());
  const auto r = run_tool({"stats", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("records        6\n") != std::string::npos);
  CHECK(r.out.find("bytes          " + std::to_string(bytes) + "\n") != std::string::npos);
  CHECK(r.out.find("max id         10\n") != std::string::npos);
  CHECK(r.out.find("density        0.600000\n") != std::string::npos);
  CHECK(r.out.find("holes          4 ids in 2 ranges: 5-6, 8-9\n") != std::string::npos);
  CHECK(r.out.find("duplicate ids  0\n") != std::string::npos);
  CHECK(r.out.find("shard-00       4 records\n") != std::string::npos);
  CHECK(r.out.find("shard-01       2 records\n") != std::string::npos);

  const auto j = run_tool({"stats", "--json", log.data()});
  CHECK(j.rc == 0);
  CHECK(j.out ==
        "{\"records\":6,\"bytes\":" + std::to_string(bytes) +
            ",\"max_id\":10,\"density\":0.600000,\"holes\":{\"ids\":4,\"ranges\":2,\"first_ranges\":[[5,6],[8,9]]},"
            "\"retired_ids\":0,\"duplicate_ids\":0,\"id_counter_min\":10,\"shards\":[{\"dir\":\"" +
            log.data() + "\",\"shard\":0,\"records\":4},{\"dir\":\"" + log.data() +
            "\",\"shard\":1,\"records\":2}]}\n");
}

TEST_CASE("stats: more than 20 hole ranges are cut with a count", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  for (uint64_t id = 2; id <= 60; id += 2) img.add(id, body_for(id));
  log.put(0, 0, img);
  const auto r = run_tool({"stats", log.data()});
  CHECK(r.out.find("holes          30 ids in 30 ranges: 1, 3, ") != std::string::npos);
  CHECK(r.out.find(", 39, and 10 more ranges\n") != std::string::npos);
}

TEST_CASE("stats: duplicate ids fail it, across dirs too", "[logtool]") {
  LogDir a, b;
  SegmentImage ia(kTestSegment), ib(kTestSegment);
  for (const uint64_t id : {1, 2}) ia.add(id, body_for(id));
  for (const uint64_t id : {2, 3}) ib.add(id, body_for(id));
  a.put(0, 0, ia);
  b.put(0, 0, ib);
  const auto r = run_tool({"stats", a.data(), b.data()});
  CHECK(r.rc == 1);
  CHECK(r.out.find("duplicate ids  1\n") != std::string::npos);
  CHECK(r.out.find(a.data() + "/shard-00 2 records") != std::string::npos);
  CHECK(count_lines(r.err) == 1);
  CHECK(run_tool({"stats", a.data()}).rc == 0);
}

TEST_CASE("stats: the least value for a shared id counter covers every node's reserved ranges", "[logtool]") {
  LogDir a, b;
  SegmentImage ia(kTestSegment), ib(kTestSegment);
  for (const uint64_t id : {1, 2}) ia.add(id, body_for(id));
  for (const uint64_t id : {129, 130}) ib.add(id, body_for(id));
  a.put(0, 0, ia);
  b.put(0, 0, ib);
  // Node b reserved up to 384 and wrote only 129, 130: the counter must not go below 384.
  { std::ofstream(a.data() + "/id-ranges") << "1 129\n"; }
  { std::ofstream(b.data() + "/id-ranges") << "129 257\n257 385\n"; }
  const auto r = run_tool({"stats", a.data(), b.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("id counter     384 ") != std::string::npos);
  CHECK(run_tool({"stats", "--json", a.data()}).out.find("\"id_counter_min\":128,") != std::string::npos);
}

// Issue 17's operator after a retire: shard 0's first segment (ids 1, 3, 5) went with retire,
// which wrote DATA_DIR/retired; shard 1 still holds 2, 4, 6 and shard 0 goes on with 7, 9.
// Those retired ids are neither holes nor duplicates; a real hole (8) still is one.
TEST_CASE("stats: ids of retired segments are retired, not holes", "[logtool]") {
  LogDir log;
  SegmentImage a(kTestSegment), b(kTestSegment);
  for (const uint64_t id : {7, 9}) a.add(id, body_for(id));
  for (const uint64_t id : {2, 4, 6}) b.add(id, body_for(id));
  log.put(0, 1, a);
  log.put(1, 0, b);
  storage::RetiredLog retired;
  retired.retire_through(0, 0);
  retired.add_ids(1, 5);
  REQUIRE(storage::save_retired(log.data(), retired).ok());
  const auto r = run_tool({"stats", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("records        5\n") != std::string::npos);
  CHECK(r.out.find("max id         9\n") != std::string::npos);
  CHECK(r.out.find("holes          1 ids in 1 ranges: 8\n") != std::string::npos);
  CHECK(r.out.find("retired        3 ids ") != std::string::npos);
  CHECK(r.out.find("duplicate ids  0\n") != std::string::npos);
  CHECK(r.out.find("density        0.888889\n") != std::string::npos);  // (5 + 3) / 9
  const auto j = run_tool({"stats", "--json", log.data()});
  CHECK(j.out.find("\"holes\":{\"ids\":1,\"ranges\":1,\"first_ranges\":[[8,8]]},\"retired_ids\":3,") !=
        std::string::npos);
}

// Everything retired: the highest id is the retired one, and nothing is a hole.
TEST_CASE("stats: a log retired whole has its max id and no holes", "[logtool]") {
  LogDir log;
  SegmentImage empty(kTestSegment);
  log.put(0, 3, empty);
  storage::RetiredLog retired;
  retired.retire_through(0, 2);
  retired.add_ids(1, 40);
  REQUIRE(storage::save_retired(log.data(), retired).ok());
  const auto r = run_tool({"stats", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("max id         40\n") != std::string::npos);
  CHECK(r.out.find("holes          0 ids in 0 ranges\n") != std::string::npos);
  CHECK(r.out.find("retired        40 ids ") != std::string::npos);
}
