// Segment summaries end to end in storage: the log writer leaves a summary for every segment it
// seals (equal to what a scan of that segment finds, including after a restart in the middle of
// a segment), and recovery takes a valid summary instead of scanning (proven by a summary that
// deliberately disagrees with its segment), scans where the summary is missing or damaged and
// writes it then, scans everything for a visitor that wants every record, counts a summarised
// segment's bytes as done in the start-up's progress, and never resumes appending in a
// summarised segment.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/storage/mapped_file.h"
#include "busyring/storage/record.h"
#include "busyring/storage/recovery.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"
#include "busyring/storage/segment_summary.h"
#include "log_writer_rig.h"

using namespace busyring::storage;
using namespace busyring::test;

namespace {

// What a full scan of one segment finds, as a summary.
SegmentSummary scanned_summary(const std::string& dir, uint32_t index) {
  struct Builder final : RecordVisitor {
    bool on_record(const RecordView& r, uint64_t offset) override {
      b.add(r.id, offset, r.record_bytes);
      return true;
    }
    SummaryBuilder b;
  } v;
  v.b.reset(index);
  MappedFile m;
  REQUIRE(m.open(segment_path(dir, index), true) == 0);
  const SegmentScan s = scan_segment(m.data(), m.scan_bytes(), &v);
  REQUIRE(s.end == SegmentEnd::clean);
  return v.b.finish();
}

// Takes every summary offered, and counts records and summaries.
struct SummaryTaker final : RecordVisitor {
  bool on_record(const RecordView&, uint64_t) override {
    ++records;
    return true;
  }
  bool on_summary(const SegmentSummary& s) override {
    summaries.push_back(s.segment);
    summarised_records += s.records;
    return true;
  }
  uint64_t records = 0;
  uint64_t summarised_records = 0;
  std::vector<uint32_t> summaries;
};

// Appends ids [first, last] of 1000-byte bodies (about 2000 per 2 MiB segment), then drains.
void write_ids(const std::string& dir, uint64_t first, uint64_t last, AppendPosition start = {},
               const SummaryBuilder& resumed = SummaryBuilder{}) {
  Rig rig(small_options(), dir, start, resumed);
  const std::string body(1000, 'm');
  for (uint64_t id = first; id <= last; ++id) {
    rig.append(id, body, id);
    if (id % 20 == 0) rig.turn();
  }
  rig.drain();
  CHECK(rig.w.summaries().written() > 0);
  CHECK(rig.w.summaries().dropped() == 0);
}

}  // namespace

TEST_CASE("the writer leaves a summary for each sealed segment, equal to a scan of it", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  write_ids(dir, 1, 5000);  // segments 0 and 1 sealed, 2 open
  for (const uint32_t index : {0u, 1u}) {
    SegmentSummary s;
    std::string why;
    REQUIRE(read_summary(dir, index, s, why) == SummaryRead::ok);
    CHECK(s == scanned_summary(dir, index));
    CHECK(s.ids.size() == 1);
  }
  SegmentSummary open;
  std::string why;
  CHECK(read_summary(dir, 2, open, why) == SummaryRead::missing);

  SummaryTaker taker;
  auto r = recover_shard(dir, true, &taker);
  REQUIRE(r.ok());
  CHECK(taker.summaries == std::vector<uint32_t>{0, 1});
  CHECK(taker.summarised_records + taker.records == 5000);
  CHECK(r.value().records == 5000);
  CHECK(r.value().summarised == 2);
  CHECK(r.value().position.segment == 2);
  CHECK(r.value().bytes_scanned < 3 * (2ull << 20));  // segments 0 and 1 were not read
}

TEST_CASE("records written as batches (reserve, commit) are in their sealed segment's summary", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  {
    Rig rig(small_options(), dir);
    const std::string body(1000, 'b');
    const size_t one = record_bytes(body.size());
    // Batches of 10 encoded by the caller, as api/batch_append does: the writer sees bytes and a
    // count, never the ids, so the summary must come from the records themselves.
    for (uint64_t id = 1; id <= 5000;) {
      uint8_t* dst = nullptr;
      if (rig.w.reserve(10 * one, dst) != AppendStatus::ok) {
        rig.turn();
        continue;
      }
      for (uint64_t k = 0; k < 10; ++k)
        encode_record(dst + k * one, RecordKind::usage, id + k, id, body.data(), static_cast<uint32_t>(body.size()));
      uint64_t batch = 0;
      rig.w.commit(10 * one, 10, batch);
      id += 10;
      if (id % 100 == 1) rig.turn();
    }
    rig.drain();
  }
  SegmentSummary s;
  std::string why;
  for (uint32_t index : {0u, 1u}) {
    REQUIRE(read_summary(dir, index, s, why) == SummaryRead::ok);
    CHECK(s == scanned_summary(dir, index));
  }
  CHECK(s.ids.back().end > s.ids.front().first);
  CollectingVisitor all;
  REQUIRE(recover_shard(dir, false, &all).ok());
  CHECK(all.ids.size() == 5000);
}

TEST_CASE("a writer resumed mid-segment summarises the records from before the restart too", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  {
    Rig rig(small_options(), dir);
    for (uint64_t id = 1; id <= 500; ++id) rig.append(id, std::string(1000, 'm'), id);
    rig.drain();
  }
  auto first = recover_shard(dir, true, nullptr);
  REQUIRE(first.ok());
  REQUIRE(first.value().position.segment == 0);
  REQUIRE(first.value().position.offset > 0);
  REQUIRE(first.value().resumed.complete());
  write_ids(dir, 501, 3000, first.value().position, first.value().resumed);
  SegmentSummary s;
  std::string why;
  REQUIRE(read_summary(dir, 0, s, why) == SummaryRead::ok);
  CHECK(s == scanned_summary(dir, 0));
  CHECK(s.ids.front().first == 1);
}

TEST_CASE("a writer resumed mid-segment without what was there writes no summary for it", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  {
    Rig rig(small_options(), dir);
    for (uint64_t id = 1; id <= 500; ++id) rig.append(id, std::string(1000, 'm'), id);
    rig.drain();
  }
  auto first = recover_shard(dir, false, nullptr);
  REQUIRE(first.ok());
  {
    Rig rig(small_options(), dir, first.value().position);  // no resumed summary
    for (uint64_t id = 501; id <= 3000; ++id) rig.append(id, std::string(1000, 'm'), id);
    rig.drain();
  }
  SegmentSummary s;
  std::string why;
  CHECK(read_summary(dir, 0, s, why) == SummaryRead::missing);
}

TEST_CASE("recovery trusts a valid summary and does not read the segment", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  write_ids(dir, 1, 5000);
  // A summary with a correct checksum that disagrees with its segment: only a recovery that
  // does not read the segment reports its numbers.
  SegmentSummary lie = scanned_summary(dir, 0);
  lie.records += 1;
  lie.ids.push_back({1'000'000, 1'000'001});
  REQUIRE(write_summary_sync(dir, lie) == 0);
  SummaryTaker taker;
  auto r = recover_shard(dir, true, &taker);
  REQUIRE(r.ok());
  CHECK(r.value().records == 5001);
  CHECK(taker.summarised_records + taker.records == 5001);
}

TEST_CASE("start-up progress counts a summarised segment as done: it reaches every segment's bytes",
          "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  write_ids(dir, 1, 5000);
  SummaryTaker taker;
  std::atomic<uint64_t> done{0};
  RecoveryOptions o;
  o.scanned_bytes = &done;
  auto r = recover_shard(dir, o, &taker);
  REQUIRE(r.ok());
  REQUIRE(taker.summaries == std::vector<uint32_t>{0, 1});  // two sealed segments not read
  CHECK(r.value().bytes_scanned < shard_log_bytes(dir));
  CHECK(done.load() == shard_log_bytes(dir));  // the STATUS= line ends at 100%
}

TEST_CASE("a damaged or missing summary means a scan, and recovery writes the summary again", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  write_ids(dir, 1, 5000);
  const SegmentSummary good0 = scanned_summary(dir, 0);
  { std::fstream(summary_path(dir, 0), std::ios::in | std::ios::out | std::ios::binary).seekp(20).put('\x7f'); }
  REQUIRE(std::remove(summary_path(dir, 1).c_str()) == 0);
  SummaryTaker taker;
  auto r = recover_shard(dir, true, &taker);
  REQUIRE(r.ok());
  CHECK(taker.summaries.empty());
  CHECK(taker.records == 5000);
  CHECK(r.value().summaries_written == 2);
  SegmentSummary s;
  std::string why;
  REQUIRE(read_summary(dir, 0, s, why) == SummaryRead::ok);
  CHECK(s == good0);
  REQUIRE(read_summary(dir, 1, s, why) == SummaryRead::ok);
  CHECK(read_summary(dir, 2, s, why) == SummaryRead::missing);  // the open segment: never
  SummaryTaker again;
  REQUIRE(recover_shard(dir, true, &again).ok());
  CHECK(again.summaries == std::vector<uint32_t>{0, 1});
}

TEST_CASE("a visitor that wants every record gets a full scan whatever the summaries", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  write_ids(dir, 1, 5000);
  CollectingVisitor all;
  auto r = recover_shard(dir, false, &all);
  REQUIRE(r.ok());
  CHECK(r.value().summarised == 0);
  REQUIRE(all.ids.size() == 5000);
  for (uint64_t id = 1; id <= 5000; ++id) REQUIRE(all.ids[id - 1] == id);
}

TEST_CASE("appending never resumes in a summarised segment", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  {
    Rig rig(small_options(), dir);
    for (uint64_t id = 1; id <= 10; ++id) rig.append(id, body_for(id), id);
    rig.drain();
  }
  // Segment 0 has room left; a summary says it is sealed (the writer moved on before a crash
  // that left segment 1 empty).
  REQUIRE(write_summary_sync(dir, scanned_summary(dir, 0)) == 0);
  auto r = recover_shard(dir, true, nullptr);
  REQUIRE(r.ok());
  CHECK(r.value().position.segment == 1);
  CHECK(r.value().position.offset == 0);
  CHECK(r.value().records == 10);
}

TEST_CASE("a summary that cannot be written is dropped, its .tmp removed, and start-up writes it", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  {
    Rig rig(small_options(), dir);
    rig.runner.inject(IORING_OP_WRITE, -EIO);  // the first summary's write (no record write is a plain WRITE)
    const std::string body(1000, 'm');
    for (uint64_t id = 1; id <= 5000; ++id) {
      rig.append(id, body, id);
      if (id % 20 == 0) rig.turn();
    }
    rig.drain();
    CHECK(rig.w.summaries().dropped() == 1);
    CHECK(rig.w.summaries().written() == 1);
    CHECK(rig.w.healthy());
  }
  SegmentSummary s;
  std::string why;
  CHECK(read_summary(dir, 0, s, why) == SummaryRead::missing);
  CHECK(access((summary_path(dir, 0) + ".tmp").c_str(), F_OK) != 0);
  REQUIRE(read_summary(dir, 1, s, why) == SummaryRead::ok);
  SummaryTaker taker;
  auto r = recover_shard(dir, true, &taker);
  REQUIRE(r.ok());
  CHECK(taker.summaries == std::vector<uint32_t>{1});
  CHECK(r.value().summaries_written == 1);
  REQUIRE(read_summary(dir, 0, s, why) == SummaryRead::ok);
  CHECK(s == scanned_summary(dir, 0));
}
