// storage/compact_segment: the compacted segment codec. A segment built the way the writer
// builds one (records gathered into writes, each padded with zeros to the alignment, a skip
// marker) round-trips byte for byte; the packed stream drops the padding; damage anywhere in
// the file (header, summary, payload), a truncated or extended file and a copy put next to
// another segment are refused; MappedFile opens a compacted segment by its .log name, and
// segment_read_bytes (segment.h) sizes either form as that mapping does.
#include "busyring/storage/compact_segment.h"

#include <sys/mman.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/storage/mapped_file.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"
#include "segment_image.h"

namespace storage = busyring::storage;
using busyring::test::body_for;
using busyring::test::CollectingVisitor;
using busyring::test::SegmentImage;
using busyring::test::TempDir;

namespace {

constexpr size_t kSegment = 256 * 1024;

// 594 records in 150 writes of 1 to 7 records, a voided failed write: what a writer leaves.
SegmentImage writer_like_segment() {
  SegmentImage img(kSegment);
  uint64_t id = 100;
  for (int write = 0; write < 150; ++write) {
    for (int r = 0; r < 1 + write % 7 && id < 700; ++r) img.add(id, body_for(id), 1'000'000 + id), ++id;
    img.end_write();
    if (write == 70) {  // a failed write of 1 KiB, voided by the writer's marker over it
      const uint64_t at = img.cursor;
      img.raw(std::string(700, 'g'));
      img.cursor = at;
      img.skip(at, at + 1024);
      img.cursor = at + 1024;
    }
  }
  return img;
}

struct Encoded {
  storage::CompactHeader header;
  std::vector<uint8_t> file;
};

Encoded encode(SegmentImage& img, uint32_t segment = 7) {
  const storage::SegmentScan scan = storage::scan_segment(img.data(), img.size(), nullptr);
  REQUIRE(scan.end == storage::SegmentEnd::clean);
  Encoded e;
  e.header.segment = segment;
  e.header.segment_bytes = img.size();
  e.header.data_end = scan.data_end;
  e.header.records = scan.records;
  e.header.record_bytes = scan.record_bytes;
  e.header.first_id = scan.first_id;
  e.header.last_id = scan.last_id;
  std::string why;
  e.file = storage::encode_compact(e.header, img.data(), 3, why);
  INFO(why);
  REQUIRE(!e.file.empty());
  return e;
}

// Decodes `file` into a fresh zeroed buffer; false with `why` as decode_compact says.
bool decode(const std::vector<uint8_t>& file, uint32_t segment, std::vector<uint8_t>& out, std::string& why,
            storage::CompactHeader& h) {
  out.assign(kSegment, 0);
  return storage::decode_compact(file.data(), file.size(), segment, h, out.data(), out.size(), why);
}

void write_bytes(const std::string& path, const uint8_t* data, size_t bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  REQUIRE(f.good());
}

}  // namespace

TEST_CASE("compact segment: a writer's segment round-trips byte for byte, without its padding",
          "[storage][compact]") {
  SegmentImage img = writer_like_segment();
  const Encoded e = encode(img);
  std::vector<uint8_t> back;
  std::string why;
  storage::CompactHeader h;
  REQUIRE(decode(e.file, 7, back, why, h));
  CHECK(std::memcmp(back.data(), img.data(), img.size()) == 0);
  CHECK(h.segment == 7);
  CHECK(h.records == 594);  // 150 writes of 1 + write % 7 records
  CHECK(h.first_id == 100);
  CHECK(h.last_id == 693);
  CHECK(h.segment_bytes == kSegment);
  // The padding is gone before zstd even looks: the packed stream is the records' bytes plus
  // two varints a write, far less than the data end with its padding.
  const std::vector<uint8_t> packed = storage::pack_segment(img.data(), static_cast<size_t>(h.data_end));
  CHECK(packed.size() < h.record_bytes + 1024 + 150 * 4 + 64);  // the voided write stays
  CHECK(h.data_end > h.record_bytes + 150 * 100);  // what the padding cost
  // And compressed: the whole file is a fraction of the records' bytes.
  CHECK(e.file.size() * 4 < h.record_bytes);
}

TEST_CASE("compact segment: pack and unpack are exact on edge shapes", "[storage][compact]") {
  const auto round = [](std::vector<uint64_t> words) {
    const auto* data = reinterpret_cast<const uint8_t*>(words.data());
    const size_t bytes = words.size() * 8;
    const std::vector<uint8_t> packed = storage::pack_segment(data, bytes);
    std::vector<uint8_t> out(bytes + 8, 0);
    REQUIRE(storage::unpack_segment(packed.data(), packed.size(), out.data(), bytes));
    CHECK((bytes == 0 || std::memcmp(out.data(), data, bytes) == 0));
    CHECK_FALSE(storage::unpack_segment(packed.data(), packed.size(), out.data(), bytes + 8));  // not its length
    return packed.size();
  };
  CHECK(round({}) == 0);
  CHECK(round({0, 0, 0, 0}) == 2);       // one chunk: skip 4 words, no literal
  CHECK(round({1, 2, 3}) == 2 + 24);     // one literal chunk
  round({0, 5, 0, 0, 6, 0});             // a single zero word stays literal
  round({7, 0, 0, 0, 0, 0, 0, 0, 8});
  round({9, 0});
}

TEST_CASE("compact segment: damage anywhere, truncation and a foreign segment are refused",
          "[storage][compact]") {
  SegmentImage img = writer_like_segment();
  const Encoded e = encode(img);
  std::vector<uint8_t> back;
  std::string why;
  storage::CompactHeader h;

  SECTION("a flipped bit in the header") {
    std::vector<uint8_t> bad = e.file;
    bad[40] ^= 0x10;  // record_bytes
    CHECK_FALSE(decode(bad, 7, back, why, h));
    CHECK(why == "header checksum mismatch");
  }
  SECTION("a flipped bit in the payload") {
    std::vector<uint8_t> bad = e.file;
    bad[bad.size() - 20] ^= 0x01;
    CHECK_FALSE(decode(bad, 7, back, why, h));
    CHECK(why == "payload checksum mismatch");
  }
  SECTION("a truncated file") {
    std::vector<uint8_t> bad(e.file.begin(), e.file.end() - 1);
    CHECK_FALSE(decode(bad, 7, back, why, h));
    CHECK(why.find("truncated") != std::string::npos);
    bad.resize(50);
    CHECK_FALSE(decode(bad, 7, back, why, h));
    CHECK(why.find("shorter than a compact segment header") != std::string::npos);
  }
  SECTION("bytes appended") {
    std::vector<uint8_t> bad = e.file;
    bad.push_back(0);
    CHECK_FALSE(decode(bad, 7, back, why, h));
    CHECK(why.find("truncated or extended") != std::string::npos);
  }
  SECTION("a copy of segment 7 put in place of segment 8") {
    CHECK_FALSE(decode(e.file, 8, back, why, h));
    CHECK(why == "holds segment 7, not 8");
  }
  SECTION("no compact segment at all") {
    std::vector<uint8_t> bad(e.file.size(), 0);
    CHECK_FALSE(decode(bad, 7, back, why, h));
    CHECK(why == "no compact segment magic at offset 0");
  }
}

TEST_CASE("compact segment: MappedFile opens it by its .log name; a damaged one is named", "[storage][compact]") {
  TempDir dir;
  SegmentImage img = writer_like_segment();
  const Encoded e = encode(img, 3);
  const std::string log = storage::segment_path(dir.path(), 3);
  const std::string zlog = storage::compact_path(dir.path(), 3);
  CHECK(zlog == dir.path() + "/seg-00000003.zlog");
  write_bytes(zlog, e.file.data(), e.file.size());

  storage::MappedFile m;
  REQUIRE(m.open(log) == 0);
  CHECK(m.compacted());
  REQUIRE(m.file_bytes() == kSegment);
  CHECK(std::memcmp(m.data(), img.data(), kSegment) == 0);
  CollectingVisitor v;
  const storage::SegmentScan scan = storage::scan_segment(m.data(), m.scan_bytes(), &v);
  CHECK(scan.end == storage::SegmentEnd::clean);
  CHECK(v.ids.size() == 594);

  std::vector<uint32_t> listed;
  REQUIRE(storage::list_segments(dir.path(), listed) == 0);
  CHECK(listed == std::vector<uint32_t>{3});
  CHECK(storage::segment_disk_bytes(dir.path(), 3) == e.file.size());

  storage::CompactHeader h;
  std::string why;
  REQUIRE(storage::read_compact_header(zlog, 3, h, why) == 0);
  CHECK(h.records == 594);  // 150 writes of 1 + write % 7 records

  std::vector<uint8_t> bad = e.file;
  bad[bad.size() / 2] ^= 0x80;
  write_bytes(zlog, bad.data(), bad.size());
  CHECK(m.open(log) == -EBADMSG);
  CHECK(m.problem() == zlog + ": payload checksum mismatch");
  CHECK(m.data() == nullptr);

  // Neither form: missing, as before.
  REQUIRE(::unlink(zlog.c_str()) == 0);
  CHECK(m.open(log) == -ENOENT);
}

TEST_CASE("segment_read_bytes: a .log's size, a compacted segment's original size, an error for none",
          "[storage][compact]") {
  TempDir dir;
  // A plain segment: its file's size, to the byte (a torn rest included, as MappedFile maps it).
  std::ofstream(storage::segment_path(dir.path(), 1), std::ios::binary) << std::string(12'345, 'x');
  auto plain = storage::segment_read_bytes(dir.path(), 1);
  REQUIRE(plain);
  CHECK(plain.value() == 12'345);

  // Compacted, only the .zlog on disk: the size it decompresses to, not the .zlog's own.
  SegmentImage img = writer_like_segment();
  const Encoded e = encode(img, 3);
  const std::string zlog = storage::compact_path(dir.path(), 3);
  write_bytes(zlog, e.file.data(), e.file.size());
  REQUIRE(e.file.size() < kSegment);
  auto compacted = storage::segment_read_bytes(dir.path(), 3);
  INFO((compacted ? "" : compacted.error()));
  REQUIRE(compacted);
  CHECK(compacted.value() == kSegment);
  storage::MappedFile m;
  REQUIRE(m.open(storage::segment_path(dir.path(), 3)) == 0);
  CHECK(m.file_bytes() == compacted.value());

  // Neither form: an error naming both files.
  auto missing = storage::segment_read_bytes(dir.path(), 4);
  REQUIRE_FALSE(missing);
  CHECK(missing.error() ==
        "cannot read " + storage::segment_path(dir.path(), 4) + " nor " + storage::compact_path(dir.path(), 4));

  // A .zlog whose header fails its checks: the error says why.
  std::vector<uint8_t> bad = e.file;
  bad[20] ^= 0x01;  // inside segment_bytes: the header checksum no longer matches
  write_bytes(zlog, bad.data(), bad.size());
  auto damaged = storage::segment_read_bytes(dir.path(), 3);
  REQUIRE_FALSE(damaged);
  CHECK(damaged.error().find("cannot read " + storage::segment_path(dir.path(), 3) + " nor " + zlog + ": ") == 0);
}
