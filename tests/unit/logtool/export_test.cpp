// busyring-log export on synthetic data dirs: id order across shards whose logs are not
// sorted (holes issued again later), --from-id, several dirs, CSV with its header, records
// larger than a read window and more segments than windows, a torn tail (exported up to it)
// and a damaged log (nothing printed, exit 1).
#include <catch2/catch.hpp>

#include <map>
#include <sstream>

#include "../../../tools/log/record_fetch.h"
#include "log_fixture.h"

using namespace busyring;
using test::body_for;
using test::count_lines;
using test::kTestSegment;
using test::LogDir;
using test::run_tool;
using test::SegmentImage;

namespace {

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string jsonl(uint64_t id, uint32_t shard, const std::string& body) {
  return "{\"id\":" + std::to_string(id) + ",\"shard\":" + std::to_string(shard) +
         ",\"arrival_ns\":" + std::to_string(1000 + id) + ",\"body\":" + body + "}";
}

// Shard 0 holds 1..4 and then 9 (a hole reissued late) before 7; shard 1 holds 5, 6, 8.
void unsorted_log(LogDir& log) {
  SegmentImage s0(kTestSegment), s0b(kTestSegment), s1(kTestSegment);
  for (const uint64_t id : {3, 1, 2}) s0.add(id, body_for(id), 1000 + id);
  s0.end_write();
  s0.add(4, body_for(4), 1004);
  for (const uint64_t id : {9, 7}) s0b.add(id, body_for(id), 1000 + id);
  for (const uint64_t id : {8, 5, 6}) s1.add(id, body_for(id), 1000 + id);
  log.put(0, 0, s0);
  log.put(0, 1, s0b);
  log.put(1, 0, s1);
}

}  // namespace

TEST_CASE("export: records come out by id across shards and segments, bodies verbatim", "[logtool]") {
  LogDir log;
  unsorted_log(log);
  const auto r = run_tool({"export", log.data()});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  const std::map<uint64_t, uint32_t> shard_of = {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 1},
                                                 {6, 1}, {7, 0}, {8, 1}, {9, 0}};
  std::vector<std::string> expected;
  for (const auto& [id, shard] : shard_of) expected.push_back(jsonl(id, shard, body_for(id)));
  CHECK(lines_of(r.out) == expected);
}

TEST_CASE("export --from-id starts at that id", "[logtool]") {
  LogDir log;
  unsorted_log(log);
  const auto r = run_tool({"export", "--from-id", "7", log.data()});
  REQUIRE(r.rc == 0);
  CHECK(lines_of(r.out) ==
        std::vector<std::string>{jsonl(7, 0, body_for(7)), jsonl(8, 1, body_for(8)), jsonl(9, 0, body_for(9))});
  CHECK(run_tool({"export", "--from-id", "10", log.data()}).out.empty());
}

TEST_CASE("export merges several data dirs by id", "[logtool]") {
  LogDir a, b;
  SegmentImage ia(kTestSegment), ib(kTestSegment);
  for (const uint64_t id : {1, 4}) ia.add(id, body_for(id), 1000 + id);
  for (const uint64_t id : {3, 2}) ib.add(id, body_for(id), 1000 + id);
  a.put(0, 0, ia);
  b.put(2, 0, ib);
  const auto r = run_tool({"export", a.data(), b.data()});
  REQUIRE(r.rc == 0);
  CHECK(lines_of(r.out) == std::vector<std::string>{jsonl(1, 0, body_for(1)), jsonl(2, 2, body_for(2)),
                                                    jsonl(3, 2, body_for(3)), jsonl(4, 0, body_for(4))});
}

TEST_CASE("export --format csv: header, one row per record, quoted body", "[logtool]") {
  LogDir log;
  unsorted_log(log);
  const auto r = run_tool({"export", "--format", "csv", log.data()});
  REQUIRE(r.rc == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 10);
  CHECK(lines[0] == "id,shard,arrival_ns,patient_id,timestamp,medication,body");
  CHECK(lines[1] ==
        "1,0,1001,1,t,mx,\"{\"\"patientId\"\":\"\"1\"\",\"\"timestamp\"\":\"\"t\"\",\"\"medication\"\":\"\"mx\"\"}\"");
  CHECK(lines[9].rfind("9,0,1009,9,t,m", 0) == 0);
}

TEST_CASE("export of a log with a torn tail exports everything before it", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  img.add(1, body_for(1), 1001);
  img.end_write();
  img.add(2, body_for(2), 1002);
  img.raw("\x42\x52\x52\x31 torn write");
  log.put(0, 0, img);
  const auto r = run_tool({"export", log.data()});
  CHECK(r.rc == 0);
  CHECK(count_lines(r.out) == 2);
}

TEST_CASE("export of a damaged log prints nothing and names the damage", "[logtool]") {
  LogDir log;
  unsorted_log(log);
  SegmentImage img(kTestSegment);
  const uint64_t bad = img.add(20, body_for(20));
  img.end_write();
  img.add(21, body_for(21));
  img.data()[bad + 33] ^= 1;
  const std::string path = log.put(1, 1, img);
  const auto r = run_tool({"export", log.data()});
  CHECK(r.rc == 1);
  CHECK(r.out.empty());
  CHECK(count_lines(r.err) == 1);
  CHECK(r.err.find(path + " at offset 0") != std::string::npos);
  CHECK(r.err.find("nothing exported") != std::string::npos);
}

TEST_CASE("export reads records larger than a window and more files than windows", "[logtool]") {
  LogDir log;
  std::map<uint64_t, std::string> expected;
  uint64_t id = 1;
  // Ids dealt round-robin over 12 segments of 3 shards, so reads hop between files.
  std::vector<SegmentImage> images;
  for (int i = 0; i < 12; ++i) images.emplace_back(2 << 20);
  for (int round = 0; round < 4; ++round) {
    for (auto& img : images) {
      const size_t pad = id % 5 == 0 ? logtool::RecordFetcher::kWindowBytes + 1000 : id % 7;
      const std::string body = "{\"pad\":\"" + std::string(pad, 'p') + "\",\"id\":" + std::to_string(id) + "}";
      img.add(id, body, 1000 + id);
      img.end_write();
      expected[id++] = body;
    }
  }
  for (int i = 0; i < 12; ++i)
    log.put(static_cast<uint32_t>(i % 3), static_cast<uint32_t>(i / 3), images[static_cast<size_t>(i)]);
  const auto r = run_tool({"export", log.data()});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == expected.size());
  size_t i = 0;
  for (const auto& [want_id, body] : expected) {
    const std::string prefix = "{\"id\":" + std::to_string(want_id) + ",";
    CHECK(lines[i].rfind(prefix, 0) == 0);
    CHECK(lines[i].find(",\"body\":" + body + "}") != std::string::npos);
    ++i;
  }
}
