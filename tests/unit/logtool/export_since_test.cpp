// busyring-log export --since-checkpoint on synthetic data dirs: FILE.next only, commit; a hole
// reissued after higher ids still exported (offsets, not ids); no commit, same records again;
// --settle holding young records and a write that lands behind a later one; a write landing
// mid-scan is not damage, real damage exports nothing; checkpoints that do not match the log
// are refused; segments seal once the shard moved on; several dirs; JSONL.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "../../../tools/log/checkpoint.h"
#include "busyring/base/clock.h"
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

constexpr uint64_t kOld = 1000;  // arrival_ns of settled records (1970)

// The ids of a CSV export, in order, after checking its header.
std::vector<uint64_t> csv_ids(const std::string& out) {
  std::istringstream in(out);
  std::string line;
  std::vector<uint64_t> ids;
  if (!std::getline(in, line) || line != "id,shard,arrival_ns,patient_id,timestamp,medication,body") {
    FAIL("no CSV header in: " << out);
  }
  while (std::getline(in, line)) ids.push_back(std::stoull(line.substr(0, line.find(','))));
  return ids;
}

using Ids = std::vector<uint64_t>;

struct Since {
  LogDir log;
  std::string checkpoint() const { return log.tmp.sub("checkpoint"); }
  std::string next() const { return checkpoint() + ".next"; }

  test::Ran export_csv(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"export", log.data(), "--format", "csv", "--since-checkpoint", checkpoint()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_tool(args);
  }
  // Exports and commits; REQUIREs both to succeed; returns the ids.
  Ids export_commit(std::vector<std::string> extra = {}) {
    const auto r = export_csv(std::move(extra));
    INFO(r.err);
    REQUIRE(r.rc == 0);
    REQUIRE(run_tool({"checkpoint", "commit", checkpoint()}).rc == 0);
    return csv_ids(r.out);
  }
  bool exists(const std::string& path) const { return access(path.c_str(), F_OK) == 0; }
};

std::string one_line(const std::string& err) {
  CHECK(count_lines(err) == 1);
  return err;
}

}  // namespace

TEST_CASE("export since a checkpoint writes FILE.next only; commit advances it", "[logtool]") {
  Since s;
  SegmentImage img(kTestSegment);
  for (const uint64_t id : {1, 2, 3}) img.add(id, body_for(id), kOld + id);
  s.log.put(0, 0, img);

  auto r = s.export_csv();
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(csv_ids(r.out) == Ids{1, 2, 3});
  CHECK_FALSE(s.exists(s.checkpoint()));
  REQUIRE(s.exists(s.next()));
  // Not committed: the same records again, and FILE.next made afresh.
  r = s.export_csv();
  REQUIRE(r.rc == 0);
  CHECK(csv_ids(r.out) == Ids{1, 2, 3});
  REQUIRE(run_tool({"checkpoint", "commit", s.checkpoint()}).rc == 0);
  CHECK_FALSE(s.exists(s.next()));
  const auto cp = logtool::load_checkpoint(s.checkpoint());
  REQUIRE(cp);
  CHECK(cp.value().generation == 1);
  REQUIRE(cp.value().segments.size() == 1);
  CHECK(cp.value().segments[0].offset == img.cursor);
  CHECK(cp.value().segments[0].first_id == 1);
  CHECK(cp.value().segments[0].first_arrival_ns == kOld + 1);
  // Nothing new: the header alone, and the checkpoint still moves on a generation.
  CHECK(s.export_commit().empty());
  CHECK(logtool::load_checkpoint(s.checkpoint()).value().generation == 2);
}

TEST_CASE("a hole reissued after higher ids is exported by the next run", "[logtool]") {
  Since s;
  SegmentImage img(kTestSegment);
  for (const uint64_t id : {1, 2, 5, 6}) img.add(id, body_for(id), kOld + id);
  img.end_write();
  s.log.put(0, 0, img);
  CHECK(s.export_commit() == Ids{1, 2, 5, 6});
  // The server restarts and reissues 3 and 4 behind 6; another shard appears with 7.
  for (const uint64_t id : {4, 3}) img.add(id, body_for(id), kOld + 10 + id);
  s.log.put(0, 0, img);
  SegmentImage other(kTestSegment);
  other.add(7, body_for(7), kOld + 7);
  s.log.put(1, 0, other);
  CHECK(s.export_commit() == Ids{3, 4, 7});
  CHECK(s.export_commit().empty());
}

TEST_CASE("records younger than --settle wait, and a write landing behind a later one is not skipped", "[logtool]") {
  Since s;
  const uint64_t now = base::wall_ns();
  SegmentImage img(kTestSegment);
  img.add(1, body_for(1), kOld);
  img.end_write();
  // Write A (ids 2, 3) is still in flight: zeros; write B (id 4) landed after it.
  const uint64_t write_a = img.cursor;
  img.cursor += 512;
  img.add(4, body_for(4), now);
  img.end_write();
  s.log.put(0, 0, img);

  auto r = s.export_csv();
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(csv_ids(r.out) == Ids{1});
  CHECK(r.err.find("1 younger than --settle") != std::string::npos);
  REQUIRE(run_tool({"checkpoint", "commit", s.checkpoint()}).rc == 0);
  // A lands; 4 is still young, so only 2 and 3.
  const uint64_t b_end = img.cursor;
  img.cursor = write_a;
  img.add(2, body_for(2), now - 1);
  img.add(3, body_for(3), now - 1);
  img.cursor = b_end;
  s.log.put(0, 0, img);
  CHECK(s.export_commit({"--settle", "3600"}).empty());
  CHECK(s.export_commit({"--settle", "3600"}).empty());
  CHECK(s.export_commit({"--settle", "0"}) == Ids{2, 3, 4});
}

TEST_CASE("a corrupt stretch followed by a young record is a write landing; followed by an old one, damage",
          "[logtool]") {
  for (const bool young : {true, false}) {
    INFO("the record after the damage is " << (young ? "young" : "old"));
    Since s;
    SegmentImage img(kTestSegment);
    img.add(1, body_for(1), kOld);
    img.end_write();
    img.raw("\x42\x52\x52\x31 half of a write");  // A: only its first sector landed
    img.end_write();
    img.cursor += 512;
    img.add(5, body_for(5), young ? base::wall_ns() : kOld + 5);  // B
    s.log.put(0, 0, img);
    const auto r = s.export_csv();
    if (young) {
      INFO(r.err);
      CHECK(r.rc == 0);
      CHECK(csv_ids(r.out) == Ids{1});
      REQUIRE(run_tool({"checkpoint", "commit", s.checkpoint()}).rc == 0);
      const auto cp = logtool::load_checkpoint(s.checkpoint());
      CHECK(cp.value().segments.at(0).offset == storage::record_bytes(body_for(1).size()));
      CHECK_FALSE(cp.value().segments.at(0).sealed);
    } else {
      CHECK(r.rc == 1);
      CHECK(r.out.empty());
      CHECK(one_line(r.err).find("corrupt record") != std::string::npos);
      CHECK(r.err.find("nothing exported") != std::string::npos);
      CHECK_FALSE(s.exists(s.next()));
    }
  }
}

TEST_CASE("damage in new records exports nothing and leaves the checkpoint alone", "[logtool]") {
  Since s;
  SegmentImage img(kTestSegment);
  img.add(1, body_for(1), kOld);
  img.end_write();
  s.log.put(0, 0, img);
  CHECK(s.export_commit() == Ids{1});
  const std::string before = read_all(s.checkpoint());
  const uint64_t bad = img.add(2, body_for(2), kOld);
  img.end_write();
  img.add(3, body_for(3), kOld);
  img.data()[bad + 33] ^= 1;
  const std::string path = s.log.put(0, 0, img);
  const auto r = s.export_csv();
  CHECK(r.rc == 1);
  CHECK(r.out.empty());
  CHECK(one_line(r.err).find(path + " at offset " + std::to_string(bad)) != std::string::npos);
  CHECK_FALSE(s.exists(s.next()));
  CHECK(read_all(s.checkpoint()) == before);
}

TEST_CASE("a checkpoint that does not match the log is refused", "[logtool]") {
  const auto make = [](Since& s, uint64_t arrival_base) {
    SegmentImage a(kTestSegment), b(kTestSegment);
    for (const uint64_t id : {1, 2}) a.add(id, body_for(id), arrival_base + id);
    b.add(3, body_for(3), arrival_base + 3);
    s.log.put(0, 0, a);
    s.log.put(0, 1, b);
  };
  const auto refused = [](Since& s, const std::string& says) {
    const std::string before = read_all(s.checkpoint());
    const auto r = s.export_csv();
    CHECK(r.rc == 1);
    CHECK(r.out.empty());
    CHECK(one_line(r.err).find(says) != std::string::npos);
    CHECK_FALSE(s.exists(s.next()));
    CHECK(read_all(s.checkpoint()) == before);
  };
  SECTION("a segment it names is gone") {
    Since s;
    make(s, kOld);
    s.export_commit();
    REQUIRE(::unlink((s.log.data() + "/shard-00/seg-00000001.log").c_str()) == 0);
    refused(s, "which the log does not have");
  }
  SECTION("another log: the first record differs") {
    Since s;
    make(s, kOld);
    s.export_commit();
    make(s, kOld + 100);
    refused(s, "begins with id 1 (arrival_ns 1101), the checkpoint says id 1 (arrival_ns 1001)");
  }
  SECTION("an offset past the data, or inside a record") {
    for (const std::string& body : {std::string("{}"), body_for(3) + std::string(64, ' ')}) {
      Since s;
      make(s, kOld);
      s.export_commit();
      // Segment 1 is not sealed (no later one): its record 3 now ends before or after the mark.
      SegmentImage changed(kTestSegment);
      changed.add(3, body, kOld + 3);
      s.log.put(0, 1, changed);
      refused(s, "is not the end of a record there");
    }
  }
  SECTION("another number of dirs") {
    Since s;
    make(s, kOld);
    s.export_commit();
    const auto r = run_tool({"export", s.log.data(), s.log.data(), "--since-checkpoint", s.checkpoint()});
    CHECK(r.rc == 1);
    CHECK(one_line(r.err).find("made for 1 DIR(s), not 2") != std::string::npos);
  }
  SECTION("not a checkpoint at all, or one cut short") {
    Since s;
    make(s, kOld);
    s.export_commit();
    const std::string good = read_all(s.checkpoint());
    for (const std::string& text : {std::string("id 42\n"), good.substr(0, good.size() - 8), std::string()}) {
      {
        std::ofstream f(s.checkpoint(), std::ios::trunc);
        f << text;
      }
      refused(s, "is not a busyring-log checkpoint");
    }
  }
}

TEST_CASE("a segment seals once a later one holds settled records; a sealed one is only fingerprinted", "[logtool]") {
  Since s;
  SegmentImage a(kTestSegment), b(kTestSegment);
  a.add(1, body_for(1), kOld + 1);
  s.log.put(0, 0, a);
  b.add(2, body_for(2), base::wall_ns());  // young: the writer may still be landing in a
  s.log.put(0, 1, b);
  CHECK(s.export_commit() == Ids{1});
  auto cp = logtool::load_checkpoint(s.checkpoint()).value();
  CHECK_FALSE(cp.segments.at(0).sealed);
  CHECK(s.export_commit({"--settle", "0"}) == Ids{2});
  cp = logtool::load_checkpoint(s.checkpoint()).value();
  CHECK(cp.segments.at(0).sealed);
  CHECK_FALSE(cp.segments.at(1).sealed);
  // A sealed segment whose first record changed is another log.
  SegmentImage other(kTestSegment);
  other.add(1, body_for(1), kOld + 2);
  s.log.put(0, 0, other);
  const auto r = s.export_csv();
  CHECK(r.rc == 1);
  CHECK(one_line(r.err).find("does not match the log") != std::string::npos);
}

TEST_CASE("export since a checkpoint spans several dirs and writes JSONL too", "[logtool]") {
  Since s;
  LogDir other;
  SegmentImage a(kTestSegment), b(kTestSegment);
  a.add(2, body_for(2), kOld);
  b.add(1, body_for(1), kOld);
  s.log.put(0, 0, a);
  other.put(0, 0, b);
  auto r = run_tool({"export", s.log.data(), other.data(), "--since-checkpoint", s.checkpoint()});
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(count_lines(r.out) == 2);
  CHECK(r.out.rfind("{\"id\":1,\"shard\":0,", 0) == 0);
  REQUIRE(run_tool({"checkpoint", "commit", s.checkpoint()}).rc == 0);
  b.add(3, body_for(3), kOld);
  other.put(0, 0, b);
  r = run_tool({"export", s.log.data(), other.data(), "--since-checkpoint", s.checkpoint()});
  REQUIRE(r.rc == 0);
  CHECK(r.out == "{\"id\":3,\"shard\":0,\"arrival_ns\":1000,\"body\":" + body_for(3) + "}\n");
}

TEST_CASE("records after a torn segment are damage, unless a write is still landing there", "[logtool]") {
  for (const bool young : {true, false}) {
    INFO("the next segment's first record is " << (young ? "young" : "old"));
    Since s;
    SegmentImage torn(kTestSegment), empty(kTestSegment), next(kTestSegment);
    torn.add(1, body_for(1), kOld);
    torn.end_write();
    torn.raw("\x42\x52\x52\x31 a write still landing");
    next.add(2, body_for(2), young ? base::wall_ns() : kOld + 2);
    const std::string torn_path = s.log.put(0, 0, torn);
    s.log.put(0, 1, empty);  // prepared ahead, nothing in it yet
    s.log.put(0, 2, next);
    const auto r = s.export_csv();
    if (young) {
      INFO(r.err);
      CHECK(r.rc == 0);
      CHECK(csv_ids(r.out) == Ids{1});
    } else {
      CHECK(r.rc == 1);
      CHECK(r.out.empty());
      CHECK(one_line(r.err).find("after the torn tail of " + torn_path) != std::string::npos);
      CHECK_FALSE(s.exists(s.next()));
    }
  }
}

TEST_CASE("a checkpoint that could not advance exports nothing", "[logtool]") {
  LogDir log;
  SegmentImage img(kTestSegment);
  img.add(1, body_for(1), kOld);
  log.put(0, 0, img);
  const auto r = run_tool({"export", log.data(), "--since-checkpoint", log.tmp.sub("missing-dir/checkpoint")});
  CHECK(r.rc == 1);
  CHECK(r.out.empty());
  CHECK(one_line(r.err).find("cannot create " + log.tmp.sub("missing-dir/checkpoint.next.tmp")) != std::string::npos);
}
