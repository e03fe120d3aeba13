// storage/scan, torn writes (issue 17 §4): looks_torn tells lost sectors (zeros where a write's
// bytes should be) from flipped bits and garbage; damage at or after torn_from that looks torn
// is a torn stretch the scan goes past (valid records after it are reported); after-range
// skip markers void the invalid bytes of their range and keep its valid records.
#include <algorithm>
#include <cstring>

#include <catch2/catch.hpp>

#include "busyring/storage/scan.h"
#include "segment_image.h"

using namespace busyring::storage;
using busyring::test::body_for;
using busyring::test::CollectingVisitor;
using busyring::test::SegmentImage;

namespace {

// A log as the writer leaves it with several writes in flight: write A (ids 1-3, flushed), then
// write B (ids 10-29, several sectors), then write C (ids 40-42) that landed whole.
struct ThreeWrites {
  SegmentImage img{64 * 1024, 512};
  uint64_t b_start = 0, b_end = 0, c_start = 0;
  std::vector<uint64_t> b_offsets;
  ThreeWrites() {
    for (uint64_t id = 1; id <= 3; ++id) img.add(id, body_for(id));
    img.end_write();
    b_start = img.cursor;
    for (uint64_t id = 10; id < 30; ++id) b_offsets.push_back(img.add(id, body_for(id)));
    b_end = img.cursor;
    img.end_write();
    c_start = img.cursor;
    for (uint64_t id = 40; id <= 42; ++id) img.add(id, body_for(id));
  }
  // The disk lost the sector at `offset` (relative to B's start) of write B.
  void lose_sector_of_b(uint64_t sector) { std::memset(img.data() + b_start + sector * 512, 0, 512); }
};

std::vector<uint64_t> ids_between(uint64_t first, uint64_t last) {
  std::vector<uint64_t> out;
  for (uint64_t id = first; id <= last; ++id) out.push_back(id);
  return out;
}

}  // namespace

TEST_CASE("looks_torn: a record whose extent overlaps a lost sector, or the rest of one after it",
          "[storage][torn]") {
  ThreeWrites w;
  REQUIRE(w.b_end - w.b_start > 3 * 512);
  w.lose_sector_of_b(1);
  // The record that crosses into the lost sector starts in sector 0 with its header intact.
  uint64_t crossing = 0;
  for (uint64_t off : w.b_offsets)
    if (off < w.b_start + 512) crossing = off;
  CHECK(looks_torn(w.img.data(), w.img.size(), crossing));
  // The first bytes of sector 2 are the rest of a record whose start was lost.
  RecordView v{};
  const uint64_t sector2 = w.b_start + 2 * 512;
  REQUIRE(decode_record(w.img.data() + sector2, w.img.size() - sector2, v) != DecodeStatus::ok);
  CHECK(looks_torn(w.img.data(), w.img.size(), sector2));
  // Not at a sector start, or no zero sector before it: not torn.
  CHECK_FALSE(looks_torn(w.img.data(), w.img.size(), sector2 + 8));
  CHECK_FALSE(looks_torn(w.img.data(), w.img.size(), w.b_start));
}

TEST_CASE("looks_torn: a flipped bit anywhere in a record is not torn", "[storage][torn]") {
  ThreeWrites w;
  const uint64_t at = w.b_offsets[5];
  for (const uint64_t byte : {uint64_t{0}, uint64_t{5}, uint64_t{6}, uint64_t{9}, uint64_t{13}, uint64_t{17},
                              uint64_t{27}, uint64_t{40}}) {
    INFO("bit flipped in byte " << byte << " of the record");
    SegmentImage img = w.img;
    img.data()[at + byte] ^= 0x04;
    RecordView v{};
    REQUIRE(decode_record(img.data() + at, img.size() - at, v) != DecodeStatus::ok);
    CHECK_FALSE(looks_torn(img.data(), img.size(), at));
    const SegmentScan s = scan_segment(img.data(), img.size(), nullptr, 0);
    CHECK(s.end == SegmentEnd::corrupt);
    CHECK(s.bad_offset == at);
  }
}

TEST_CASE("looks_torn: garbage at a write's start is not torn, nor is a header running past the end",
          "[storage][torn]") {
  SegmentImage img(8192, 512);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t bad = img.raw(std::string(300, 'G'));
  CHECK_FALSE(looks_torn(img.data(), img.size(), bad));  // sector 0 holds record 1: not lost
  SegmentImage tail(4096, 512);
  const uint64_t at = tail.add(7, std::string(3000, 'x'));
  std::memset(tail.data() + at + 1024, 0, 512);
  CHECK(looks_torn(tail.data(), tail.size(), at));
  CHECK_FALSE(looks_torn(tail.data(), 2048, at));  // the record would end past these 2048 bytes
}

TEST_CASE("a write that lost a sector, with a later write whole after it: corrupt by default, torn "
          "from torn_from on, every valid record reported",
          "[storage][torn]") {
  ThreeWrites w;
  w.lose_sector_of_b(1);
  const SegmentScan strict = scan_segment(w.img.data(), w.img.size(), nullptr);
  CHECK(strict.end == SegmentEnd::corrupt);

  CollectingVisitor v;
  const SegmentScan s = scan_segment(w.img.data(), w.img.size(), &v, 0);
  CHECK(s.end == SegmentEnd::clean);
  CHECK(s.torn_stretches >= 1);
  CHECK(s.first_torn == strict.bad_offset);
  CHECK(s.first_torn > w.b_start);
  CHECK(s.first_torn < w.b_start + 1024);
  // The ids of A, the records of B outside sector 1, and all of C.
  CHECK(v.ids.front() == 1);
  CHECK(v.ids.back() == 42);
  CHECK(std::count(v.ids.begin(), v.ids.end(), 41) == 1);
  CHECK(s.records_after_torn >= 3);
  CHECK(s.records == v.ids.size());
  // torn_from past the damage: corrupt again.
  const SegmentScan late = scan_segment(w.img.data(), w.img.size(), nullptr, s.first_torn + 8);
  CHECK(late.end == SegmentEnd::corrupt);
  CHECK(late.bad_offset == s.first_torn);
}

TEST_CASE("an after-range skip marker voids the invalid bytes of its range and keeps its valid records",
          "[storage][torn]") {
  ThreeWrites w;
  w.lose_sector_of_b(1);
  const SegmentScan torn = scan_segment(w.img.data(), w.img.size(), nullptr, 0);
  REQUIRE(torn.torn_stretches >= 1);
  CollectingVisitor before;
  (void)scan_segment(w.img.data(), w.img.size(), &before, 0);
  w.img.end_write();
  const uint64_t marker = w.img.cursor;
  w.img.skip(torn.first_torn, marker);
  w.img.end_write();
  w.img.add(50, body_for(50));  // appending resumed after the marker

  CollectingVisitor v;
  const SegmentScan s = scan_segment(w.img.data(), w.img.size(), &v);  // no torn_from: the marker alone
  CHECK(s.end == SegmentEnd::clean);
  CHECK(s.torn_stretches == 0);
  std::vector<uint64_t> expected = before.ids;
  expected.push_back(50);
  CHECK(v.ids == expected);

  // A marker whose range starts after the damage covers none of it.
  ThreeWrites x;
  x.lose_sector_of_b(1);
  x.img.end_write();
  const uint64_t m2 = x.img.cursor;
  x.img.skip(torn.first_torn + 8, m2);
  const SegmentScan uncovered = scan_segment(x.img.data(), x.img.size(), nullptr);
  CHECK(uncovered.end == SegmentEnd::corrupt);
  CHECK(uncovered.bad_offset == torn.first_torn);
}

TEST_CASE("copy_valid_only zeroes the damaged bytes and keeps every valid record in place", "[storage][torn]") {
  ThreeWrites w;
  w.lose_sector_of_b(1);
  const SegmentScan torn = scan_segment(w.img.data(), w.img.size(), nullptr, 0);
  REQUIRE(torn.torn_stretches >= 1);
  const uint64_t from = torn.first_torn / 512 * 512;
  const uint64_t to = (torn.data_end + 511) / 512 * 512;
  std::vector<uint8_t> out(to - from);
  copy_valid_only(w.img.data(), w.img.size(), from, to, torn.first_torn, out.data());
  SegmentImage repaired = w.img;
  std::memcpy(repaired.data() + from, out.data(), out.size());
  CollectingVisitor want, got;
  (void)scan_segment(w.img.data(), w.img.size(), &want, 0);
  const SegmentScan s = scan_segment(repaired.data(), repaired.size(), &got);
  CHECK(s.end == SegmentEnd::clean);
  CHECK(got.ids == want.ids);
  CHECK(got.offsets == want.offsets);
  CHECK(std::memcmp(repaired.data(), w.img.data(), torn.first_torn) == 0);  // nothing before it changed
  CHECK(ids_between(40, 42) == std::vector<uint64_t>(got.ids.end() - 3, got.ids.end()));
}
