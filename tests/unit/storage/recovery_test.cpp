// storage/recovery: recover_shard on real segment files in a temp dir (created with
// create_segment_sync, records written at aligned offsets): resume positions, torn tails
// voided by a skip marker (or zeroed when no room is left), and corruption refused by name.
#include "busyring/storage/recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "../support/temp_dir.h"
#include "busyring/storage/segment.h"
#include "segment_image.h"

using namespace busyring::storage;
using busyring::base::align_up;
using busyring::test::body_for;
using busyring::test::CollectingVisitor;
using busyring::test::SegmentImage;
using busyring::test::TempDir;

namespace {

constexpr uint64_t kSegment = 256 * 1024;

// Creates segment `index` zero-filled and returns its path and DIO offset alignment.
std::string make_segment(const std::string& dir, uint32_t index, uint32_t& align,
                         uint64_t bytes = kSegment) {
  REQUIRE(make_dirs(dir) == 0);
  const std::string path = segment_path(dir, index);
  REQUIRE(create_segment_sync(path, bytes) == 0);
  DioAlign a;
  REQUIRE(dio_alignment(path, a) == 0);
  REQUIRE(a.offset >= 1);
  align = a.offset;
  return path;
}

// Writes the image's bytes [0, align_up(cursor)) into the file (records at aligned offsets).
void write_image(const std::string& path, SegmentImage& img) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const size_t n = static_cast<size_t>(std::min<uint64_t>(align_up(img.cursor, img.align), img.size()));
  REQUIRE(pwrite(fd, img.data(), n, 0) == static_cast<ssize_t>(n));
  close(fd);
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a missing shard directory is an empty log", "[storage]") {
  TempDir tmp;
  auto r = recover_shard(tmp.sub("shard-00"), true, nullptr);
  REQUIRE(r.ok());
  CHECK(r.value().records == 0);
  CHECK(r.value().segments == 0);
  CHECK(r.value().position.segment == 0);
  CHECK(r.value().position.offset == 0);
}

TEST_CASE("recovery resumes after the last write, aligned", "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string path = make_segment(tmp.path(), 0, align);
  SegmentImage img(kSegment, align);
  std::vector<uint64_t> ids;
  for (uint64_t id = 1; id <= 20; ++id) {
    img.add(id, body_for(id), 5000 + id);
    ids.push_back(id);
    if (id % 7 == 0) img.end_write();
  }
  const uint64_t data_end = img.cursor;
  write_image(path, img);
  // Not a segment: ignored by the listing.
  std::ofstream(segment_path(tmp.path(), 1) + ".tmp") << "partial";

  CollectingVisitor v;
  auto r = recover_shard(tmp.path(), true, &v);
  REQUIRE(r.ok());
  const ShardRecovery& rec = r.value();
  CHECK(rec.segments == 1);
  CHECK(rec.records == 20);
  CHECK(rec.torn_tails == 0);
  CHECK(rec.bytes_scanned == kSegment);
  CHECK(rec.position.segment == 0);
  CHECK(rec.position.offset == align_up(data_end, align));
  CHECK(rec.position.offset % align == 0);
  CHECK(v.ids == ids);
  CHECK(v.arrivals.front() == 5001);
  CHECK(v.bodies[19] == body_for(20));
}

TEST_CASE("an empty first segment resumes at its start", "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  make_segment(tmp.path(), 0, align);
  auto r = recover_shard(tmp.path(), true, nullptr);
  REQUIRE(r.ok());
  CHECK(r.value().segments == 1);
  CHECK(r.value().position.segment == 0);
  CHECK(r.value().position.offset == 0);
}

TEST_CASE("records continue across segments; an empty prepared segment is not the position",
          "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string p0 = make_segment(tmp.path(), 0, align);
  const std::string p1 = make_segment(tmp.path(), 1, align);
  make_segment(tmp.path(), 2, align);  // prepared ahead, still empty
  SegmentImage a(kSegment, align), b(kSegment, align);
  for (uint64_t id = 1; id <= 5; ++id) a.add(id, body_for(id));
  for (uint64_t id = 6; id <= 8; ++id) b.add(id, body_for(id));
  write_image(p0, a);
  write_image(p1, b);
  CollectingVisitor v;
  auto r = recover_shard(tmp.path(), true, &v);
  REQUIRE(r.ok());
  CHECK(r.value().segments == 3);
  CHECK(r.value().records == 8);
  CHECK(v.ids == std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(r.value().position.segment == 1);
  CHECK(r.value().position.offset == align_up(b.cursor, align));
}

TEST_CASE("a segment filled to its last byte moves the position to the next segment", "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  const uint64_t size = 8192;
  const std::string path = make_segment(tmp.path(), 0, align, size);
  SegmentImage img(size, align);
  img.add(1, std::string(4096 - 32, 'a'));
  img.add(2, std::string(4096 - 32, 'b'));
  REQUIRE(img.cursor == size);
  write_image(path, img);
  auto r = recover_shard(tmp.path(), true, nullptr);
  REQUIRE(r.ok());
  CHECK(r.value().records == 2);
  CHECK(r.value().position.segment == 1);
  CHECK(r.value().position.offset == 0);
}

TEST_CASE("a torn tail is voided by a skip marker and a second recovery is clean", "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string path = make_segment(tmp.path(), 0, align);
  SegmentImage img(kSegment, align);
  for (uint64_t id = 1; id <= 4; ++id) img.add(id, body_for(id));
  img.end_write();
  const uint64_t bad = img.cursor;
  img.raw(std::string(align + 100, '\x7f'));  // a write that tore over one sector boundary
  const uint64_t torn_end = bad + align + 100;
  write_image(path, img);
  const std::string before = file_bytes(path);

  auto r = recover_shard(tmp.path(), true, nullptr);
  REQUIRE(r.ok());
  CHECK(r.value().torn_tails == 1);
  CHECK(r.value().records == 4);
  const uint64_t marker = align_up(torn_end, align);
  CHECK(r.value().position.segment == 0);
  CHECK(r.value().position.offset == marker + align_up(record_bytes(0), align));

  const std::string after = file_bytes(path);
  REQUIRE(after.size() == before.size());
  CHECK(after.compare(0, marker, before, 0, marker) == 0);  // nothing before the marker rewritten
  RecordView v{};
  REQUIRE(decode_record(reinterpret_cast<const uint8_t*>(after.data()) + marker, 64, v) == DecodeStatus::ok);
  CHECK(v.kind == RecordKind::skip);
  CHECK(v.id == bad);
  CHECK(v.arrival_ns == marker);

  auto again = recover_shard(tmp.path(), true, nullptr);
  REQUIRE(again.ok());
  CHECK(again.value().torn_tails == 0);
  CHECK(again.value().records == 4);
  CHECK(again.value().position.segment == r.value().position.segment);
  CHECK(again.value().position.offset == r.value().position.offset);
  CHECK(file_bytes(path) == after);

  // Appending resumes there; the next recovery sees the new record after the voided stretch.
  SegmentImage next(align, align);
  next.add(5, body_for(5));
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(pwrite(fd, next.data(), align, static_cast<off_t>(again.value().position.offset)) ==
          static_cast<ssize_t>(align));
  close(fd);
  CollectingVisitor cv;
  auto third = recover_shard(tmp.path(), true, &cv);
  REQUIRE(third.ok());
  CHECK(third.value().torn_tails == 0);
  CHECK(cv.ids == std::vector<uint64_t>{1, 2, 3, 4, 5});
}

TEST_CASE("without repair a torn tail is reported but the file is left alone", "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string path = make_segment(tmp.path(), 0, align);
  SegmentImage img(kSegment, align);
  img.add(1, body_for(1));
  const uint64_t data_end = img.cursor;
  img.end_write();
  img.raw("torn");
  write_image(path, img);
  const std::string before = file_bytes(path);
  auto r = recover_shard(tmp.path(), false, nullptr);
  REQUIRE(r.ok());
  CHECK(r.value().records == 1);
  CHECK(r.value().torn_tails == 0);
  CHECK(r.value().position.offset == align_up(data_end, align));
  CHECK(file_bytes(path) == before);
}

TEST_CASE("a torn tail with no room for a marker is zeroed, keeping the record before it",
          "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  const uint64_t size = 4 * 4096;
  const std::string path = make_segment(tmp.path(), 0, align, size);
  SegmentImage img(size, align);
  img.add(1, body_for(1));
  img.add(2, body_for(2));
  const uint64_t bad = img.cursor;  // torn inside the same write, not on a sector boundary
  img.raw(std::string(size - bad - 8, 'G'));
  write_image(path, img);

  CollectingVisitor v;
  auto r = recover_shard(tmp.path(), true, &v);
  REQUIRE(r.ok());
  CHECK(r.value().torn_tails == 1);
  CHECK(v.ids == std::vector<uint64_t>{1, 2});
  CHECK(r.value().position.segment == 0);
  CHECK(r.value().position.offset == busyring::base::align_up(bad, align));
  const std::string after = file_bytes(path);
  CHECK(after.find('G') == std::string::npos);

  CollectingVisitor v2;
  auto again = recover_shard(tmp.path(), true, &v2);
  REQUIRE(again.ok());
  CHECK(again.value().torn_tails == 0);
  CHECK(v2.ids == std::vector<uint64_t>{1, 2});
  // Recovery is idempotent: the second run resumes where the first said appending resumes.
  CHECK(again.value().position.segment == r.value().position.segment);
  CHECK(again.value().position.offset == r.value().position.offset);
}

TEST_CASE("corruption in the middle of a log is an error naming the file and offset", "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string path = make_segment(tmp.path(), 0, align);
  SegmentImage img(kSegment, align);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t bad = img.add(2, body_for(2));
  img.data()[bad + 50] ^= 0x20;
  img.end_write();
  img.add(3, body_for(3));
  write_image(path, img);
  const std::string before = file_bytes(path);
  auto r = recover_shard(tmp.path(), true, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains(path));
  CHECK_THAT(r.error(), Catch::Contains("offset " + std::to_string(bad)));
  CHECK_THAT(r.error(), Catch::Contains("CRC32C mismatch"));
  CHECK(file_bytes(path) == before);  // never "repaired"
}

TEST_CASE("a torn tail followed by records in a later segment is refused outside the in-flight window",
          "[storage]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string p0 = make_segment(tmp.path(), 0, align);
  const std::string p1 = make_segment(tmp.path(), 1, align);
  SegmentImage a(kSegment, align), b(kSegment, align);
  a.add(1, body_for(1));
  a.end_write();
  a.raw("half a write");
  b.add(2, body_for(2));
  write_image(p0, a);
  write_image(p1, b);
  // Read-only or repairing, with no window (the default): refused, naming both files.
  for (const bool repair : {false, true}) {
    auto r = recover_shard(tmp.path(), repair, nullptr);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::Contains(p0));
    CHECK_THAT(r.error(), Catch::Contains(p1));
  }
  // Garbage is no lost sector: refused whatever the window.
  RecoveryOptions o;
  o.repair = true;
  o.in_flight_bytes = kUnboundedWindow;
  auto r = recover_shard(tmp.path(), o, nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("busyring-log salvage"));
}

// ---- Torn writes with valid records after them (issue 17 §4) ----

namespace {

// Write A (ids 1-3), write B (ids 10-29, several sectors), write C (ids 40-42), as the writer
// lays them out; `lost` sectors of B (counted from B's start) are zeros, as a power cut leaves
// a multi-page write that was in flight.
struct InFlightLog {
  explicit InFlightLog(uint32_t align, uint64_t bytes = kSegment) : img(bytes, align) {
    for (uint64_t id = 1; id <= 3; ++id) img.add(id, body_for(id));
    img.end_write();
    b_start = img.cursor;
    for (uint64_t id = 10; id < 30; ++id) img.add(id, body_for(id));
    img.end_write();
    for (uint64_t id = 40; id <= 42; ++id) img.add(id, body_for(id));
    c_end = img.cursor;
  }
  void lose_sector_of_b(uint64_t sector) { std::memset(img.data() + b_start + sector * 512, 0, 512); }
  SegmentImage img;
  uint64_t b_start = 0;
  uint64_t c_end = 0;
};

RecoveryOptions window(uint64_t in_flight, uint64_t write = 4096, bool repair = true) {
  RecoveryOptions o;
  o.repair = repair;
  o.in_flight_bytes = in_flight;
  o.write_bytes = write;
  return o;
}

// What a scan that tolerates the damage reports: the records a recovery must keep.
std::vector<uint64_t> valid_ids(SegmentImage& img) {
  CollectingVisitor v;
  (void)scan_segment(img.data(), img.size(), &v, 0);
  return v.ids;
}

}  // namespace

TEST_CASE("a write that lost a sector, a later write whole after it: voided inside the window, "
          "every valid record kept, and the repair holds on every later start",
          "[storage][torn]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string path = make_segment(tmp.path(), 0, align);
  InFlightLog log(align);
  log.lose_sector_of_b(1);
  const std::vector<uint64_t> expected = valid_ids(log.img);
  REQUIRE(std::count(expected.begin(), expected.end(), 42) == 1);
  const SegmentScan torn = scan_segment(log.img.data(), log.img.size(), nullptr, 0);
  REQUIRE(torn.torn_stretches >= 1);
  write_image(path, log.img);
  const std::string before = file_bytes(path);

  CollectingVisitor v;
  auto r = recover_shard(tmp.path(), window(64 * 1024), &v);
  INFO((r ? std::string("ok") : r.error()));
  REQUIRE(r.ok());
  CHECK(v.ids == expected);
  CHECK(r.value().torn_tails == 1);
  CHECK(r.value().kept_after_damage == torn.records_after_torn);
  CHECK(r.value().torn_bytes == torn.data_end - torn.first_torn);
  const uint64_t marker = align_up(torn.data_end, align);
  CHECK(r.value().position.offset == marker + align_up(record_bytes(0), align));
  const std::string after = file_bytes(path);
  CHECK(after.compare(0, marker, before, 0, marker) == 0);  // nothing before the marker rewritten
  RecordView m{};
  REQUIRE(decode_record(reinterpret_cast<const uint8_t*>(after.data()) + marker, 64, m) == DecodeStatus::ok);
  CHECK(m.kind == RecordKind::skip);
  CHECK(m.id == torn.first_torn);
  CHECK(m.arrival_ns == marker);

  // The marker voids the damage for good: a read-only start with no window at all agrees.
  CollectingVisitor again;
  auto second = recover_shard(tmp.path(), false, &again);
  REQUIRE(second.ok());
  CHECK(again.ids == expected);
  CHECK(second.value().position.offset == r.value().position.offset);
  // Appending resumes after the marker; later starts see the new record too.
  SegmentImage next(align, align);
  next.add(50, body_for(50));
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(pwrite(fd, next.data(), align, static_cast<off_t>(r.value().position.offset)) == static_cast<ssize_t>(align));
  close(fd);
  CollectingVisitor third;
  REQUIRE(recover_shard(tmp.path(), true, &third).ok());
  CHECK(third.ids.back() == 50);
  CHECK(third.ids.size() == expected.size() + 1);
}

TEST_CASE("torn-looking damage before the in-flight window is corruption, refused with the salvage command",
          "[storage][torn]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string dir = tmp.sub("shard-00");
  const std::string path = make_segment(dir, 0, align);
  InFlightLog log(align);
  log.lose_sector_of_b(1);
  const SegmentScan torn = scan_segment(log.img.data(), log.img.size(), nullptr, 0);
  write_image(path, log.img);
  const std::string before = file_bytes(path);
  // The window ends 8 bytes short of the damage.
  auto r = recover_shard(dir, window(torn.data_end - torn.first_torn - 8), nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains(path));
  CHECK_THAT(r.error(), Catch::Contains("offset " + std::to_string(torn.first_torn)));
  CHECK_THAT(r.error(), Catch::Contains("busyring-log salvage " + tmp.path()));
  CHECK(file_bytes(path) == before);
  // Exactly reaching it: torn.
  CHECK(recover_shard(dir, window(torn.data_end - torn.first_torn), nullptr).ok());
}

TEST_CASE("a flipped bit in the last write is corruption even with an unbounded window", "[storage][torn]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string path = make_segment(tmp.path(), 0, align);
  InFlightLog log(align);
  const uint64_t at = log.b_start + 200;
  log.img.data()[at] ^= 0x10;
  write_image(path, log.img);
  const std::string before = file_bytes(path);
  auto r = recover_shard(tmp.path(), window(kUnboundedWindow), nullptr);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains(path));
  CHECK_THAT(r.error(), Catch::Contains("CRC32C mismatch"));
  CHECK(file_bytes(path) == before);
}

TEST_CASE("a torn tail at the end of one segment with records in the next: torn while the window, "
          "with one write of slack per boundary, reaches it",
          "[storage][torn]") {
  TempDir tmp;
  uint32_t align = 0;
  const uint64_t small = 8192;
  const std::string p0 = make_segment(tmp.path(), 0, align, small);
  const std::string p1 = make_segment(tmp.path(), 1, align, small);
  SegmentImage a(small, align), b(small, align);
  for (uint64_t id = 1; id <= 3; ++id) a.add(id, body_for(id));
  a.end_write();
  const uint64_t b_start = a.cursor;
  for (uint64_t id = 10; id < 30; ++id) a.add(id, body_for(id));
  const uint64_t b_end = a.cursor;
  const uint64_t last_sector = (b_end - 1) / 512 * 512;
  REQUIRE(last_sector > b_start);
  std::memset(a.data() + last_sector, 0, 512);  // the last sector of write B was lost
  for (uint64_t id = 40; id <= 42; ++id) b.add(id, body_for(id));
  write_image(p0, a);
  write_image(p1, b);
  const SegmentScan s0 = scan_segment(a.data(), a.size(), nullptr);
  REQUIRE(s0.end == SegmentEnd::torn);
  REQUIRE(s0.tail_looks_torn);

  // 512 bytes in flight and 512 of slack cannot reach back from segment 1 into segment 0's data.
  auto refused = recover_shard(tmp.path(), window(512, 512), nullptr);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error(), Catch::Contains(p0));
  CHECK_THAT(refused.error(), Catch::Contains(p1));

  CollectingVisitor v;
  auto r = recover_shard(tmp.path(), window(small, small), &v);
  INFO((r ? std::string("ok") : r.error()));
  REQUIRE(r.ok());
  CHECK(r.value().torn_tails == 1);
  CHECK(v.ids.front() == 1);
  CHECK(v.ids.back() == 42);
  CHECK(r.value().position.segment == 1);
  CollectingVisitor again;
  REQUIRE(recover_shard(tmp.path(), false, &again).ok());
  CHECK(again.ids == v.ids);
}

TEST_CASE("no room for a marker after the damage: the invalid bytes are zeroed in place, valid records kept",
          "[storage][torn]") {
  TempDir tmp;
  uint32_t align = 0;
  const uint64_t size = 4 * 4096;
  const std::string path = make_segment(tmp.path(), 0, align, size);
  SegmentImage img(size, align);
  img.add(1, body_for(1));
  img.end_write();
  const uint64_t b_start = img.cursor;
  uint64_t id = 10;
  while (img.cursor + record_bytes(body_for(id).size()) <= size - 8) {
    img.add(id, body_for(id));
    ++id;
  }
  const uint64_t last_id = id - 1;
  REQUIRE(align_up(img.cursor, align) + align_up(record_bytes(0), align) > size);  // no room for a marker
  std::memset(img.data() + b_start + 512, 0, 512);  // a sector in the middle of the write lost
  const std::vector<uint64_t> expected = valid_ids(img);
  REQUIRE(std::count(expected.begin(), expected.end(), last_id) == 1);
  write_image(path, img);

  CollectingVisitor v;
  auto r = recover_shard(tmp.path(), window(size), &v);
  INFO((r ? std::string("ok") : r.error()));
  REQUIRE(r.ok());
  CHECK(r.value().torn_tails == 1);
  CHECK(v.ids == expected);
  CollectingVisitor again;
  auto second = recover_shard(tmp.path(), false, &again);
  REQUIRE(second.ok());
  CHECK(again.ids == expected);
  const std::string after = file_bytes(path);
  const SegmentScan s = scan_segment(reinterpret_cast<const uint8_t*>(after.data()), after.size(), nullptr);
  CHECK(s.end == SegmentEnd::clean);
}

TEST_CASE("read-only recovery judges torn damage the same way and writes nothing", "[storage][torn]") {
  TempDir tmp;
  uint32_t align = 0;
  const std::string path = make_segment(tmp.path(), 0, align);
  InFlightLog log(align);
  log.lose_sector_of_b(2);
  const std::vector<uint64_t> expected = valid_ids(log.img);
  write_image(path, log.img);
  const std::string before = file_bytes(path);
  CollectingVisitor v;
  auto r = recover_shard(tmp.path(), window(64 * 1024, 4096, false), &v);
  REQUIRE(r.ok());
  CHECK(v.ids == expected);
  CHECK(r.value().torn_tails == 0);
  CHECK(file_bytes(path) == before);
}

TEST_CASE("the server's window: --log-writes writes of one write buffer each; unbounded without fdatasync",
          "[storage][torn]") {
  const RecoveryOptions d = server_recovery_options(4, 64 * 1024, true);
  CHECK(d.repair);
  CHECK(d.write_bytes == 512 * 1024);
  CHECK(d.in_flight_bytes == 4 * 512 * 1024);
  const RecoveryOptions big = server_recovery_options(2, 1 << 20, true);
  CHECK(big.write_bytes == align_up(record_bytes(1 << 20), 4096));
  CHECK(big.in_flight_bytes == 2 * big.write_bytes);
  CHECK(server_recovery_options(4, 64 * 1024, false).in_flight_bytes == kUnboundedWindow);
}
