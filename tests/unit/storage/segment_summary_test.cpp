// storage/segment_summary: the builder (runs of ids become spans, sorted and merged, duplicates
// visible as records outnumbering ids, too many spans abandon the summary), the file codec
// (round trip; every flipped byte, a truncation, another segment's summary, malformed spans
// rejected), and the blocking read/write.
#include "busyring/storage/segment_summary.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/storage/segment.h"

using namespace busyring::storage;
using busyring::test::TempDir;

namespace {

SegmentSummary build(uint32_t segment, const std::vector<uint64_t>& ids) {
  SummaryBuilder b;
  b.reset(segment);
  uint64_t offset = 0;
  for (const uint64_t id : ids) {
    b.add(id, offset, 136);
    offset += 136;
  }
  REQUIRE(b.complete());
  return b.finish();
}

}  // namespace

TEST_CASE("summary builder: runs of ids become sorted, merged spans", "[storage][summary]") {
  // Two blocks of this shard, then a reissued hole below them, then the first block continued.
  const SegmentSummary s = build(7, {1025, 1026, 1027, 3073, 3074, 5, 6, 1028});
  CHECK(s.segment == 7);
  CHECK(s.records == 8);
  CHECK(s.record_bytes == 8 * 136);
  CHECK(s.records_end == 8 * 136);
  CHECK(s.ids == std::vector<IdSpan>{{5, 7}, {1025, 1029}, {3073, 3075}});
  CHECK(span_ids(s.ids) == 8);
}

TEST_CASE("summary builder: a duplicate id leaves more records than ids", "[storage][summary]") {
  const SegmentSummary s = build(0, {1, 2, 3, 2});
  CHECK(s.records == 4);
  CHECK(s.ids == std::vector<IdSpan>{{1, 4}});
  CHECK(span_ids(s.ids) == 3);
}

TEST_CASE("summary builder: too many spans, or an abandoned start, gives no summary", "[storage][summary]") {
  SummaryBuilder b;
  CHECK_FALSE(b.complete());  // a default builder knows no segment's start
  b.reset(1);
  for (uint64_t i = 0; i <= kMaxSummarySpans; ++i) b.add(1 + 2 * i, 0, 40);  // every id alone
  CHECK_FALSE(b.complete());
  b.reset(2);
  b.add(9, 0, 40);
  CHECK(b.complete());
  b.abandon();
  CHECK_FALSE(b.complete());
}

TEST_CASE("summary codec: what is encoded decodes the same", "[storage][summary]") {
  const SegmentSummary s = build(42, {10, 11, 12, 100, 101, 7});
  const std::vector<uint8_t> bytes = encode_summary(s);
  CHECK(bytes.size() == kSummaryHeaderBytes + 2 * s.ids.size());  // every gap and length fits a byte here
  SegmentSummary out;
  std::string why;
  REQUIRE(decode_summary(bytes.data(), bytes.size(), 42, out, why));
  CHECK(out == s);

  SegmentSummary empty;
  empty.segment = 3;
  const std::vector<uint8_t> e = encode_summary(empty);
  REQUIRE(decode_summary(e.data(), e.size(), 3, out, why));
  CHECK(out == empty);
}

TEST_CASE("summary codec: large ids and gaps take longer varints and come back exact", "[storage][summary]") {
  SegmentSummary s;
  s.segment = 9;
  s.ids = {{127, 128}, {300, 300 + 128}, {1ull << 40, (1ull << 40) + 70000}, {UINT64_MAX - 5, UINT64_MAX}};
  s.records = span_ids(s.ids);
  s.record_bytes = 40 * s.records;
  s.records_end = 1ull << 26;
  const std::vector<uint8_t> bytes = encode_summary(s);
  SegmentSummary out;
  std::string why;
  REQUIRE(decode_summary(bytes.data(), bytes.size(), 9, out, why));
  CHECK(out == s);
}

TEST_CASE("summary codec: every flipped byte is caught", "[storage][summary]") {
  const std::vector<uint8_t> good = encode_summary(build(5, {1, 2, 3, 9, 10}));
  for (size_t i = 0; i < good.size(); ++i) {
    for (const uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}}) {
      std::vector<uint8_t> bad = good;
      bad[i] ^= flip;
      SegmentSummary out;
      std::string why;
      INFO("byte " << i);
      CHECK_FALSE(decode_summary(bad.data(), bad.size(), 5, out, why));
      CHECK_FALSE(why.empty());
    }
  }
}

TEST_CASE("summary codec: truncation, another segment and malformed spans are refused", "[storage][summary]") {
  const std::vector<uint8_t> good = encode_summary(build(5, {1, 2, 3}));
  SegmentSummary out;
  std::string why;
  for (size_t n = 0; n < good.size(); ++n) CHECK_FALSE(decode_summary(good.data(), n, 5, out, why));
  CHECK_FALSE(decode_summary(good.data(), good.size(), 6, out, why));
  CHECK(why.find("segment 5") != std::string::npos);

  SegmentSummary overlapping;  // a correct checksum over spans no builder produces
  overlapping.segment = 5;
  overlapping.records = 4;
  overlapping.ids = {{1, 4}, {3, 5}};
  std::vector<uint8_t> b = encode_summary(overlapping);
  CHECK_FALSE(decode_summary(b.data(), b.size(), 5, out, why));
  CHECK(why.find("ascending") != std::string::npos);

  SegmentSummary too_many_ids;  // spans naming more ids than the segment has records
  too_many_ids.segment = 5;
  too_many_ids.records = 2;
  too_many_ids.ids = {{1, 4}};
  b = encode_summary(too_many_ids);
  CHECK_FALSE(decode_summary(b.data(), b.size(), 5, out, why));
  CHECK(why.find("record count") != std::string::npos);
}

TEST_CASE("summary files: written durably, read back, missing and damaged told apart", "[storage][summary]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  REQUIRE(make_dirs(dir) == 0);
  const SegmentSummary s = build(3, {4, 5, 6});
  SegmentSummary out;
  std::string why;
  CHECK(read_summary(dir, 3, out, why) == SummaryRead::missing);
  REQUIRE(write_summary_sync(dir, s) == 0);
  CHECK(summary_path(dir, 3) == dir + "/seg-00000003.summary");
  REQUIRE(read_summary(dir, 3, out, why) == SummaryRead::ok);
  CHECK(out == s);
  { std::ofstream(summary_path(dir, 3), std::ios::app) << "x"; }
  CHECK(read_summary(dir, 3, out, why) == SummaryRead::invalid);
}
