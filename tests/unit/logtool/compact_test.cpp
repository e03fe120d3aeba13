// busyring-log compact on synthetic data dirs: which segments are sealed (never the last on
// disk, never one whose successor began too recently, never a retired one, never a damaged
// one); every reader sees the same records before and after; and a compaction stopped after
// each step of its protocol (what a kill there leaves on disk) keeps one complete copy that
// every reader reads, and the next run finishes the job. Leftovers an earlier run could leave
// (an unfinished .zlog.tmp, both forms, a .zlog that is not the .log's copy) are resolved.
// verify and dump name a compacted segment by its .zlog, the file they read.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <ctime>
#include <filesystem>

#include "../../../tools/log/compactor.h"
#include "busyring/storage/compact_segment.h"
#include "busyring/storage/mapped_file.h"
#include "busyring/storage/retired.h"
#include "log_fixture.h"

using namespace busyring;
using test::body_for;
using test::kTestSegment;
using test::LogDir;
using test::read_all;
using test::run_tool;
using test::SegmentImage;

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Records `first`..`first + n - 1`, a few per write, arriving at `arrival_ns`.
SegmentImage image_of(uint64_t first, uint64_t n, uint64_t arrival_ns = 1'000) {
  SegmentImage img(kTestSegment);
  for (uint64_t id = first; id < first + n; ++id) {
    img.add(id, body_for(id), arrival_ns);
    if (id % 3 == 0) img.end_write();
  }
  return img;
}

// Shard 0 with segments 0..3 of 40 records each (ids 1..160), all long settled.
struct FourSegments {
  LogDir log;
  std::string dir;
  std::vector<std::string> originals;  // the .log files' bytes
  FourSegments() {
    for (uint32_t i = 0; i < 4; ++i) {
      SegmentImage img = image_of(1 + 40 * i, 40);
      originals.push_back(read_all(log.put(0, i, img)));
    }
    dir = storage::shard_dir(log.data(), 0);
  }
  std::string log_path(uint32_t i) const { return storage::segment_path(dir, i); }
  std::string zlog_path(uint32_t i) const { return storage::compact_path(dir, i); }
  // What a reader sees of segment i (either form) equals the original .log.
  bool reads_original(uint32_t i) const {
    storage::MappedFile m;
    if (m.open(log_path(i)) != 0) return false;
    return m.file_bytes() == originals[i].size() && std::memcmp(m.data(), originals[i].data(), m.file_bytes()) == 0;
  }
};

}  // namespace

TEST_CASE("compact: sealed segments become .zlog, the last stays; every command reads the same",
          "[logtool][compact]") {
  FourSegments f;
  const auto before_export = run_tool({"export", f.log.data()});
  const auto before_stats = run_tool({"stats", f.log.data()});
  REQUIRE(before_export.rc == 0);

  const auto r = run_tool({"compact", f.log.data()});
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("3 segments compacted") != std::string::npos);
  for (uint32_t i = 0; i < 3; ++i) {
    CHECK_FALSE(exists(f.log_path(i)));
    CHECK(exists(f.zlog_path(i)));
    CHECK(f.reads_original(i));
  }
  CHECK(exists(f.log_path(3)));  // the last segment on disk: maybe the one being written
  CHECK_FALSE(exists(f.zlog_path(3)));

  const auto after_export = run_tool({"export", f.log.data()});
  CHECK(after_export.rc == 0);
  CHECK(after_export.out == before_export.out);
  CHECK(run_tool({"stats", f.log.data()}).out == before_stats.out);
  const auto verify = run_tool({"verify", f.log.data()});
  INFO(verify.out << verify.err);
  CHECK(verify.rc == 0);
  // verify and dump name each segment by the file they read: a compacted one by its .zlog.
  constexpr size_t npos = std::string::npos;
  for (uint32_t i = 0; i < 3; ++i) {
    CHECK(verify.out.find(f.zlog_path(i) + ": 40 records") != npos);
    CHECK(verify.out.find(f.log_path(i)) == npos);
  }
  CHECK(verify.out.find(f.log_path(3) + ": 40 records") != npos);
  const auto dump = run_tool({"dump", f.log.data()});
  INFO(dump.out << dump.err);
  CHECK(dump.rc == 0);
  for (uint32_t i = 0; i < 3; ++i) {
    const std::string name = "shard-00 seg-0000000" + std::to_string(i);
    CHECK(dump.out.find(name + ".zlog off=0 id=" + std::to_string(1 + 40 * i) + " ") != npos);
    CHECK(dump.out.find(name + ".zlog end: 40 records") != npos);
    CHECK(dump.out.find(name + ".log") == npos);
  }
  CHECK(dump.out.find("shard-00 seg-00000003.log end: 40 records") != npos);

  // A second run has nothing to do.
  const auto again = run_tool({"compact", f.log.data()});
  CHECK(again.rc == 0);
  CHECK(again.out.empty());
}

TEST_CASE("compact: a segment whose successor began within --settle is not sealed yet", "[logtool][compact]") {
  LogDir log;
  SegmentImage a = image_of(1, 10), b = image_of(11, 10, now_ns()), c = image_of(21, 10, now_ns());
  log.put(0, 0, a);
  log.put(0, 1, b);
  log.put(0, 2, c);
  const std::string dir = storage::shard_dir(log.data(), 0);
  const auto r = run_tool({"compact", log.data(), "--settle", "1h"});
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  // Segment 1 begins with an old-enough record? No: only segment 0's does, and nothing below it.
  CHECK(exists(storage::segment_path(dir, 0)));
  CHECK(exists(storage::segment_path(dir, 1)));
  // With --settle 0 every segment below the last one that holds a record is sealed.
  REQUIRE(run_tool({"compact", log.data(), "--settle", "0"}).rc == 0);
  CHECK(exists(storage::compact_path(dir, 0)));
  CHECK(exists(storage::compact_path(dir, 1)));
  CHECK(exists(storage::segment_path(dir, 2)));
}

TEST_CASE("compact: a damaged .zlog is named by verify and dump, the file they could not read",
          "[logtool][compact]") {
  FourSegments f;
  REQUIRE(run_tool({"compact", f.log.data()}).rc == 0);
  std::string z1 = read_all(f.zlog_path(1));
  z1[z1.size() - 3] ^= 0x40;  // in the zstd frame: the payload checksum fails
  std::ofstream(f.zlog_path(1), std::ios::binary | std::ios::trunc) << z1;
  const std::string problem = "cannot read " + f.zlog_path(1) + ": payload checksum mismatch";

  const auto verify = run_tool({"verify", f.log.data()});
  INFO(verify.out << verify.err);
  CHECK(verify.rc == 1);
  CHECK(verify.out.find(f.zlog_path(1) + ": 0 records, 0 bytes, DAMAGED: " + problem + "\n") != std::string::npos);
  CHECK(verify.out.find(f.log_path(1)) == std::string::npos);
  CHECK(verify.err.find(problem) != std::string::npos);

  const auto dump = run_tool({"dump", f.log.data()});
  INFO(dump.out << dump.err);
  CHECK(dump.rc == 1);
  CHECK(dump.out.find(f.zlog_path(1) + ": DAMAGED: " + problem + "\n") != std::string::npos);
  CHECK(dump.out.find(f.log_path(1)) == std::string::npos);
}

TEST_CASE("compact: retired segments are left to retire, damaged ones to verify and salvage",
          "[logtool][compact]") {
  FourSegments f;
  storage::RetiredLog retired;
  retired.retire_through(0, 0);
  REQUIRE(storage::save_retired(f.log.data(), retired));
  // Segment 1 corrupt in the middle: a flipped byte in a record that valid records follow.
  std::string bytes = f.originals[1];
  bytes[40] ^= 0x01;
  std::ofstream(f.log_path(1), std::ios::binary | std::ios::trunc) << bytes;

  const auto r = run_tool({"compact", f.log.data()});
  INFO(r.out << r.err);
  CHECK(r.rc == 1);
  CHECK(r.err.find(f.log_path(1) + " was not compacted: its scan ends corrupt") != std::string::npos);
  CHECK(exists(f.log_path(0)));   // retired: retire deletes it, compaction does not touch it
  CHECK(exists(f.log_path(1)));   // damaged: left as it is
  CHECK(exists(f.zlog_path(2)));  // the rest goes on
  CHECK(exists(f.log_path(3)));
}

TEST_CASE("compact: stopped after each step, one complete copy stays and the next run finishes",
          "[logtool][compact]") {
  const logtool::CompactStep step =
      GENERATE(logtool::CompactStep::tmp_written, logtool::CompactStep::renamed, logtool::CompactStep::log_removed);
  FourSegments f;
  const auto before = run_tool({"export", f.log.data()});
  logtool::CompactOptions o;
  o.stop_after = step;
  logtool::CompactTotals totals;
  REQUIRE(logtool::compact_shard(f.dir, now_ns(), o, totals));

  // What the kill left: segment 0 in one form or both, every copy named is complete.
  switch (step) {
    case logtool::CompactStep::tmp_written:
      CHECK(exists(f.zlog_path(0) + ".tmp"));
      CHECK(exists(f.log_path(0)));
      CHECK_FALSE(exists(f.zlog_path(0)));
      break;
    case logtool::CompactStep::renamed:
      CHECK(exists(f.log_path(0)));
      CHECK(exists(f.zlog_path(0)));
      break;
    default:
      CHECK_FALSE(exists(f.log_path(0)));
      CHECK(exists(f.zlog_path(0)));
      break;
  }
  CHECK(f.reads_original(0));
  const auto during = run_tool({"export", f.log.data()});
  CHECK(during.out == before.out);
  CHECK(run_tool({"verify", f.log.data()}).rc == 0);

  const auto next = run_tool({"compact", f.log.data()});
  INFO(next.out << next.err);
  REQUIRE(next.rc == 0);
  for (uint32_t i = 0; i < 3; ++i) {
    CHECK_FALSE(exists(f.log_path(i)));
    CHECK(exists(f.zlog_path(i)));
    CHECK_FALSE(exists(f.zlog_path(i) + ".tmp"));
    CHECK(f.reads_original(i));
  }
  if (step == logtool::CompactStep::tmp_written) CHECK(next.out.find("1 unfinished copies removed") != std::string::npos);
  if (step == logtool::CompactStep::renamed) CHECK(next.out.find("1 finished") != std::string::npos);
  CHECK(run_tool({"export", f.log.data()}).out == before.out);
}

TEST_CASE("compact: a .zlog beside its .log that is not its copy is removed and the segment redone",
          "[logtool][compact]") {
  FourSegments f;
  REQUIRE(run_tool({"compact", f.log.data()}).rc == 0);
  // Segment 1's .log back (as if the unlink never reached the disk), but beside it segment 2's
  // copy renamed to segment 1, and a .zlog of segment 0 whose payload was damaged.
  std::ofstream(f.log_path(1), std::ios::binary) << f.originals[1];
  std::filesystem::copy_file(f.zlog_path(2), f.zlog_path(1), std::filesystem::copy_options::overwrite_existing);
  std::ofstream(f.log_path(0), std::ios::binary) << f.originals[0];
  std::string z0 = read_all(f.zlog_path(0));
  z0[z0.size() - 3] ^= 0x40;
  std::ofstream(f.zlog_path(0), std::ios::binary | std::ios::trunc) << z0;
  // Meanwhile readers read the .log: both forms count once.
  CHECK(f.reads_original(0));
  CHECK(f.reads_original(1));

  const auto r = run_tool({"compact", f.log.data()});
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.out.find("0 finished, 2 redone") != std::string::npos);
  CHECK(r.out.find("2 segments compacted") != std::string::npos);
  for (uint32_t i = 0; i < 3; ++i) {
    CHECK_FALSE(exists(f.log_path(i)));
    CHECK(f.reads_original(i));
  }
}

TEST_CASE("compact: retire removes a compacted segment, and both forms of one caught mid-compaction",
          "[logtool][compact]") {
  FourSegments f;
  logtool::CompactOptions o;
  logtool::CompactTotals totals;
  REQUIRE(logtool::compact_shard(f.dir, now_ns(), o, totals));
  REQUIRE(totals.compacted == 3);
  std::ofstream(f.log_path(1), std::ios::binary) << f.originals[1];  // both forms of segment 1
  const std::string checkpoint = f.log.tmp.sub("cp");
  REQUIRE(run_tool({"export", f.log.data(), "--since-checkpoint", checkpoint, "--settle", "0"}).rc == 0);
  REQUIRE(run_tool({"checkpoint", "commit", checkpoint}).rc == 0);
  const auto r = run_tool({"retire", f.log.data(), "--checkpoint", checkpoint});
  INFO(r.out << r.err);
  REQUIRE(r.rc == 0);
  for (uint32_t i = 0; i < 3; ++i) {
    CHECK_FALSE(exists(f.log_path(i)));
    CHECK_FALSE(exists(f.zlog_path(i)));
  }
  CHECK(exists(f.log_path(3)));
}
