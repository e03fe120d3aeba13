// storage/scan: in-memory segments that end clean (records and zero gaps at write
// boundaries), torn (garbage followed only by zeros) or corrupt (damage before a valid record),
// and skip markers that void a torn stretch.
#include "busyring/storage/scan.h"

#include <catch2/catch.hpp>

#include "segment_image.h"

using namespace busyring::storage;
using busyring::test::body_for;
using busyring::test::CollectingVisitor;
using busyring::test::SegmentImage;

namespace {

// Three writes of 1, 3 and 5 records with zero gaps between them; returns the ids in order.
std::vector<uint64_t> fill_three_writes(SegmentImage& img, uint64_t& last_end) {
  std::vector<uint64_t> ids;
  uint64_t id = 10;
  for (int records : {1, 3, 5}) {
    for (int r = 0; r < records; ++r) {
      img.add(id, body_for(id));
      ids.push_back(id++);
    }
    last_end = img.cursor;
    img.end_write();
  }
  return ids;
}

}  // namespace

TEST_CASE("an all-zero segment scans clean and empty", "[storage]") {
  SegmentImage img(64 * 1024);
  const SegmentScan s = scan_segment(img.data(), img.size(), nullptr);
  CHECK(s.end == SegmentEnd::clean);
  CHECK(s.records == 0);
  CHECK(s.data_end == 0);
  CHECK(s.first_id == 0);
  CHECK(scan_segment(img.data(), 0, nullptr).end == SegmentEnd::clean);
}

TEST_CASE("records separated by zero gaps at write boundaries scan clean", "[storage]") {
  SegmentImage img(64 * 1024);
  uint64_t last_end = 0;
  const auto ids = fill_three_writes(img, last_end);
  CollectingVisitor v;
  const SegmentScan s = scan_segment(img.data(), img.size(), &v);
  CHECK(s.end == SegmentEnd::clean);
  CHECK(s.records == 9);
  CHECK(s.first_id == 10);
  CHECK(s.last_id == 18);
  CHECK(s.data_end == last_end);
  CHECK(v.ids == ids);
  CHECK(v.offsets.front() == 0);
  CHECK(v.offsets[1] == 512);  // the second write starts on the next aligned offset
  uint64_t bytes = 0;
  for (uint64_t id : ids) bytes += record_bytes(body_for(id).size());
  CHECK(s.record_bytes == bytes);
  for (size_t i = 0; i < ids.size(); ++i) CHECK(v.bodies[i] == body_for(ids[i]));
}

TEST_CASE("a record that fills the segment exactly scans clean", "[storage]") {
  SegmentImage img(512);
  img.add(1, std::string(512 - 32, 'z'));
  const SegmentScan s = scan_segment(img.data(), img.size(), nullptr);
  CHECK(s.end == SegmentEnd::clean);
  CHECK(s.records == 1);
  CHECK(s.data_end == 512);
}

TEST_CASE("a visitor returning false stops the scan", "[storage]") {
  SegmentImage img(64 * 1024);
  uint64_t last_end = 0;
  fill_three_writes(img, last_end);
  CollectingVisitor v;
  v.stop_after = 2;
  const SegmentScan s = scan_segment(img.data(), img.size(), &v);
  CHECK(v.ids.size() == 2);
  CHECK(s.records == 2);
}

TEST_CASE("garbage followed only by zeros is a torn tail", "[storage]") {
  SegmentImage img(64 * 1024);
  uint64_t last_end = 0;
  fill_three_writes(img, last_end);
  const uint64_t bad = img.cursor;
  img.raw("this write never finished: junk junk junk!");  // 42 bytes
  CollectingVisitor v;
  const SegmentScan s = scan_segment(img.data(), img.size(), &v);
  CHECK(s.end == SegmentEnd::torn);
  CHECK(s.records == 9);
  CHECK(v.ids.size() == 9);
  CHECK(s.data_end == last_end);
  CHECK(s.bad_offset == bad);
  CHECK(s.bad_status == DecodeStatus::bad_magic);
  CHECK(s.torn_end == bad + 42);
}

TEST_CASE("a half-written record at the end is a torn tail with its true extent", "[storage]") {
  SegmentImage img(8192);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t bad = img.cursor;
  const uint64_t at = img.add(2, std::string(300, 'q'));
  // Only the first 200 bytes reached the disk; the rest of the record stayed zero.
  std::memset(img.data() + at + 200, 0, record_bytes(300) - 200);
  const SegmentScan s = scan_segment(img.data(), img.size(), nullptr);
  CHECK(s.end == SegmentEnd::torn);
  CHECK(s.records == 1);
  CHECK(s.bad_offset == bad);
  CHECK(s.bad_status == DecodeStatus::bad_crc);
  CHECK(s.torn_end == bad + 200);
}

TEST_CASE("a record running past the end of the segment is a torn tail", "[storage]") {
  SegmentImage img(1024);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t at = img.add(2, std::string(400, 'q'));  // 432 bytes at 512: fits
  // Claim a longer body than the segment holds.
  const uint32_t longer = 900;
  std::memcpy(img.data() + at + 8, &longer, 4);
  const SegmentScan s = scan_segment(img.data(), img.size(), nullptr);
  CHECK(s.end == SegmentEnd::torn);
  CHECK(s.bad_offset == at);
  CHECK(s.bad_status == DecodeStatus::truncated);
}

TEST_CASE("an invalid record followed by a valid one is corruption", "[storage]") {
  SegmentImage img(64 * 1024);
  img.add(1, body_for(1));
  img.add(2, body_for(2));
  img.end_write();
  const uint64_t bad = img.add(3, body_for(3));
  img.data()[bad + 40] ^= 0x01;  // a bit flip in the body of record 3
  img.end_write();
  const uint64_t next = img.add(4, body_for(4));
  CollectingVisitor v;
  const SegmentScan s = scan_segment(img.data(), img.size(), &v);
  CHECK(s.end == SegmentEnd::corrupt);
  CHECK(s.records == 2);
  CHECK(v.ids == std::vector<uint64_t>{1, 2});
  CHECK(s.bad_offset == bad);
  CHECK(s.bad_status == DecodeStatus::bad_crc);
  CHECK(s.next_valid == next);
}

TEST_CASE("corruption directly before the next record in the same write is found", "[storage]") {
  SegmentImage img(8192);
  img.add(1, body_for(1));
  const uint64_t bad = img.add(2, body_for(2));
  const uint64_t next = img.add(3, body_for(3));
  img.data()[bad] = 0;  // the magic's first byte
  const SegmentScan s = scan_segment(img.data(), img.size(), nullptr);
  CHECK(s.end == SegmentEnd::corrupt);
  CHECK(s.bad_offset == bad);
  CHECK(s.bad_status == DecodeStatus::bad_magic);
  CHECK(s.next_valid == next);
}

TEST_CASE("a skip marker voiding a torn stretch makes the scan clean", "[storage]") {
  SegmentImage img(64 * 1024);
  uint64_t last_end = 0;
  fill_three_writes(img, last_end);
  const uint64_t bad = img.cursor;
  img.raw(std::string(700, '#'));  // torn bytes [bad, bad + 700)
  img.end_write();
  const uint64_t marker = img.cursor;
  img.skip(bad, marker);
  img.end_write();
  img.add(100, body_for(100));  // appending resumed after the marker
  const uint64_t end = img.cursor;
  CollectingVisitor v;
  const SegmentScan s = scan_segment(img.data(), img.size(), &v);
  CHECK(s.end == SegmentEnd::clean);
  CHECK(s.records == 10);  // the skip marker is not a usage record
  CHECK(v.ids.back() == 100);
  CHECK(s.last_id == 100);
  CHECK(s.data_end == end);
}

TEST_CASE("a skip marker that does not cover the invalid bytes leaves them corrupt", "[storage]") {
  SegmentImage img(64 * 1024);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t bad = img.cursor;
  img.raw(std::string(100, '#'));
  img.end_write();
  const uint64_t marker = img.cursor;
  img.skip(bad + 8, marker);  // starts past the damage
  const SegmentScan s = scan_segment(img.data(), img.size(), nullptr);
  CHECK(s.end == SegmentEnd::corrupt);
  CHECK(s.bad_offset == bad);
  CHECK(s.next_valid == marker);
}

// The marker's range starts at the damage but ends before the marker itself: bytes between the
// range's end and the marker are voided by nothing, so they are corruption, not a void.
TEST_CASE("a skip marker whose range ends before its own offset leaves the bytes after the range corrupt",
          "[storage]") {
  SegmentImage img(64 * 1024);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t bad = img.cursor;
  img.raw(std::string(700, '#'));
  img.end_write();
  const uint64_t marker = img.cursor;
  REQUIRE(marker > bad + 512);
  img.skip(bad, bad + 512);  // covers the first 512 of the 700 bad bytes only
  img.end_write();
  img.add(2, body_for(2));
  const SegmentScan s = scan_segment(img.data(), img.size(), nullptr);
  CHECK(s.end == SegmentEnd::corrupt);
  CHECK(s.bad_offset == bad);
  CHECK(s.next_valid == marker);
  CHECK(s.records == 1);
}

TEST_CASE("a skip marker as the last record scans clean with its end as data_end", "[storage]") {
  SegmentImage img(4096);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t bad = img.cursor;
  img.raw("torn");
  img.end_write();
  const uint64_t marker = img.cursor;
  img.skip(bad, marker);
  const SegmentScan s = scan_segment(img.data(), img.size(), nullptr);
  CHECK(s.end == SegmentEnd::clean);
  CHECK(s.records == 1);
  CHECK(s.data_end == marker + 32);
  CHECK(std::string(segment_end_name(SegmentEnd::torn)) == "torn tail");
}
