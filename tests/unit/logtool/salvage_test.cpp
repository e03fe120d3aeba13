// busyring-log salvage on synthetic data dirs (real files, O_DIRECT writes): a corrupt stretch
// is voided after a .broken copy is kept, repeatedly within a segment; a torn tail followed by
// records is voided; a clean log is left untouched; files that are no segment are refused; a
// held DIR/LOCK (a live server) stops it; the log then verifies clean and keeps its records.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "../../../tools/log/salvage_io.h"
#include "log_fixture.h"

using namespace busyring;
using test::body_for;
using test::count_lines;
using test::kTestSegment;
using test::LogDir;
using test::read_all;
using test::run_tool;
using test::SegmentImage;

namespace {

// Records 1..n, one write each; returns the offset of each.
std::vector<uint64_t> fill(SegmentImage& img, uint64_t first, uint64_t n) {
  std::vector<uint64_t> at;
  for (uint64_t id = first; id < first + n; ++id) {
    at.push_back(img.add(id, body_for(id)));
    img.end_write();
  }
  return at;
}

std::string exported_ids(const std::string& data) {
  const auto r = run_tool({"export", "--format", "csv", data});
  REQUIRE(r.rc == 0);
  std::string ids;
  size_t pos = r.out.find('\n') + 1;
  while (pos < r.out.size()) {
    ids += r.out.substr(pos, r.out.find(',', pos) - pos) + " ";
    pos = r.out.find('\n', pos) + 1;
  }
  return ids;
}

}  // namespace

TEST_CASE("salvage voids a corrupt record, keeps a .broken copy, and the log verifies", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  const auto at = fill(img, 1, 5);
  img.data()[at[2] + 40] ^= 0x08;
  const std::string path = log.put(0, 0, img);
  const std::string damaged = read_all(path);
  REQUIRE(run_tool({"verify", log.data()}).rc == 1);

  const auto r = run_tool({"salvage", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("salvaged " + path + ": voided bytes [" + std::to_string(at[2]) + ", " + std::to_string(at[3]) +
                   ")") != std::string::npos);
  CHECK(r.out.find("kept as " + path + ".broken") != std::string::npos);
  CHECK(read_all(path + ".broken") == damaged);
  const auto v = run_tool({"verify", log.data()});
  INFO(v.out << v.err);
  CHECK(v.rc == 0);
  CHECK(exported_ids(log.data()) == "1 2 4 5 ");
  CHECK(run_tool({"dump", log.data()})
            .out.find("off=" + std::to_string(at[2]) + " skip marker: bytes [" + std::to_string(at[2]) + ", " +
                      std::to_string(at[3]) + ") are void") != std::string::npos);

  // A second salvage finds nothing; a later damage gets the next free copy name.
  const auto again = run_tool({"salvage", log.data()});
  CHECK(again.rc == 0);
  CHECK(again.out.find("nothing to salvage") != std::string::npos);
  std::string bytes = read_all(path);
  bytes[at[1] + 36] ^= 0x01;
  {
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const auto third = run_tool({"salvage", log.data()});
  CHECK(third.rc == 0);
  CHECK(read_all(path + ".broken.1") == bytes);
  CHECK(read_all(path + ".broken") == damaged);
  CHECK(exported_ids(log.data()) == "1 4 5 ");
}

TEST_CASE("salvage repeats until every corrupt stretch of a segment is void", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  const auto at = fill(img, 1, 8);
  img.data()[at[1]] ^= 0xff;       // magic
  img.data()[at[4] + 20] ^= 0x01;  // id: CRC mismatch
  img.data()[at[5] + 50] ^= 0x01;  // the next record too: one stretch of two records
  log.put(0, 0, img);
  const auto r = run_tool({"salvage", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(count_lines(r.out) == 3);  // two voided stretches and the summary
  CHECK(run_tool({"verify", log.data()}).rc == 0);
  CHECK(exported_ids(log.data()) == "1 3 4 7 8 ");
}

TEST_CASE("salvage voids a torn tail that records in a later segment follow", "[logtool]") {
  LogDir log;
  SegmentImage first(kTestSegment), second(kTestSegment);
  fill(first, 1, 2);
  const uint64_t torn = first.raw("\x42\x52\x52\x31 torn at the end of a segment");
  fill(second, 3, 2);
  const std::string p1 = log.put(0, 0, first);
  log.put(0, 1, second);
  REQUIRE(run_tool({"verify", log.data()}).rc == 1);
  const auto r = run_tool({"salvage", log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 0);
  CHECK(r.out.find("salvaged " + p1 + ": voided its torn tail [" + std::to_string(torn)) != std::string::npos);
  CHECK(run_tool({"verify", log.data()}).rc == 0);
  CHECK(exported_ids(log.data()) == "1 2 3 4 ");
}

TEST_CASE("salvage leaves a clean log and a last torn tail alone", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  fill(img, 1, 3);
  img.raw("\x42\x52\x52\x31 torn");
  const std::string path = log.put(0, 0, img);
  const std::string before = read_all(path);
  const auto r = run_tool({"salvage", log.data()});
  CHECK(r.rc == 0);
  CHECK(r.out.find("nothing to salvage in " + log.data()) != std::string::npos);
  CHECK(read_all(path) == before);
  CHECK(access((path + ".broken").c_str(), F_OK) != 0);
}

TEST_CASE("salvage refuses files that are no segment and changes nothing", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  fill(img, 1, 3);
  const std::string path = log.put(0, 0, img);
  REQUIRE(truncate(path.c_str(), 1000) == 0);
  const std::string before = read_all(path);
  const auto r = run_tool({"salvage", log.data()});
  CHECK(r.rc == 1);
  CHECK(r.err.find("left as is") != std::string::npos);
  CHECK(read_all(path) == before);
}

TEST_CASE("salvage will not run beside a server holding DIR/LOCK", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  const auto at = fill(img, 1, 3);
  img.data()[at[1] + 40] ^= 1;
  const std::string path = log.put(0, 0, img);
  const std::string before = read_all(path);
  const int fd = open((log.data() + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(flock(fd, LOCK_EX | LOCK_NB) == 0);
  const auto r = run_tool({"salvage", log.data()});
  close(fd);
  CHECK(r.rc == 1);
  CHECK(r.err.find("a busyring server is using") != std::string::npos);
  CHECK(read_all(path) == before);
  CHECK(run_tool({"salvage", log.data()}).rc == 0);
}

TEST_CASE("void_range: a skip marker for a stretch of 32 bytes or more, zeros otherwise", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  fill(img, 1, 2);
  const std::string path = log.put(0, 0, img);
  REQUIRE(logtool::void_range(path, 600, 608, 512).ok());
  REQUIRE(logtool::void_range(path, 1000, 1040, 512).ok());
  const std::string after = read_all(path);
  REQUIRE(after.size() == kTestSegment);
  storage::RecordView v{};
  CHECK(storage::decode_record(reinterpret_cast<const uint8_t*>(after.data()) + 1000, after.size() - 1000, v) ==
        storage::DecodeStatus::ok);
  CHECK(v.kind == storage::RecordKind::skip);
  CHECK(v.id == 1000);
  CHECK(v.arrival_ns == 1040);
  CHECK(after.substr(0, 512) == std::string(reinterpret_cast<const char*>(img.data()), 512));
  CHECK(after.substr(600, 8) == std::string(8, '\0'));
  CHECK_FALSE(logtool::void_range(path, 3, 9, 512).ok());
  CHECK_FALSE(logtool::void_range(log.tmp.sub("missing"), 0, 8, 512).ok());
}
