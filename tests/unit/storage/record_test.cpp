// storage/record: the on-disk codec. Round trips for every field and body size 0..300, the
// zero padding, and every way decode_record refuses bytes that are not a whole, intact record.
#include "busyring/storage/record.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

#include "storage/crc32c.h"

using namespace busyring::storage;

namespace {

// 8-aligned scratch, prefilled with a marker byte so padding must really be written.
struct Scratch {
  explicit Scratch(size_t bytes, uint8_t fill = 0xA5) : words((bytes + 7) / 8 + 1) {
    std::memset(words.data(), fill, words.size() * 8);
  }
  uint8_t* data() { return reinterpret_cast<uint8_t*>(words.data()); }
  std::vector<uint64_t> words;
};

RecordHeader header_of(const uint8_t* p) {
  RecordHeader h;
  std::memcpy(&h, p, sizeof h);
  return h;
}

// Rewrites the header field at `off` and fixes the CRC, so only that field is wrong.
template <typename T>
void patch_and_reseal(uint8_t* p, size_t off, T value, uint32_t body_bytes) {
  std::memcpy(p + off, &value, sizeof value);
  RecordHeader h = header_of(p);
  h.crc32c = 0;
  uint32_t crc = crc32c(0, &h, sizeof h);
  crc = crc32c(crc, p + sizeof h, body_bytes);
  std::memcpy(p + 12, &crc, 4);
}

}  // namespace

TEST_CASE("record_bytes is header plus body rounded up to 8", "[storage]") {
  CHECK(record_bytes(0) == 32);
  CHECK(record_bytes(1) == 40);
  CHECK(record_bytes(7) == 40);
  CHECK(record_bytes(8) == 40);
  CHECK(record_bytes(9) == 48);
  CHECK(record_bytes(100) == 136);
  for (size_t b = 0; b < 1000; ++b) {
    REQUIRE(record_bytes(b) % kRecordAlign == 0);
    REQUIRE(record_bytes(b) >= kRecordHeaderBytes + b);
    REQUIRE(record_bytes(b) < kRecordHeaderBytes + b + kRecordAlign);
  }
}

TEST_CASE("encode then decode round-trips every field for bodies of 0..300 bytes", "[storage]") {
  std::mt19937_64 rng(42);
  for (uint32_t n = 0; n <= 300; ++n) {
    std::vector<uint8_t> body(n);
    for (auto& b : body) b = static_cast<uint8_t>(rng());
    const uint64_t id = rng() | 1, arrival = rng();
    Scratch s(record_bytes(n) + 64);
    const size_t written = encode_record(s.data(), RecordKind::usage, id, arrival, body.data(), n);
    REQUIRE(written == record_bytes(n));

    const RecordHeader h = header_of(s.data());
    CHECK(h.magic == kRecordMagic);
    CHECK(std::memcmp(s.data(), "BRR1", 4) == 0);  // little-endian magic reads as text
    CHECK(h.version == kRecordVersion);
    CHECK(h.kind == 1);
    CHECK(h.body_bytes == n);
    CHECK(h.id == id);
    CHECK(h.arrival_ns == arrival);
    for (size_t i = kRecordHeaderBytes + n; i < written; ++i) REQUIRE(s.data()[i] == 0);
    REQUIRE(s.data()[written] == 0xA5);  // nothing written past the record

    RecordView v{};
    REQUIRE(decode_record(s.data(), written, v) == DecodeStatus::ok);
    CHECK(v.kind == RecordKind::usage);
    CHECK(v.id == id);
    CHECK(v.arrival_ns == arrival);
    CHECK(v.body_bytes == n);
    CHECK(v.body == s.data() + kRecordHeaderBytes);
    CHECK(v.record_bytes == written);
    if (n > 0) REQUIRE(std::memcmp(v.body, body.data(), n) == 0);  // an empty body may have no data pointer
  }
}

TEST_CASE("the stored CRC covers the header with its CRC field zeroed, then the body", "[storage]") {
  const char body[] = "{\"patientId\":\"100\"}";
  Scratch s(128);
  encode_record(s.data(), RecordKind::usage, 7, 9, body, sizeof body - 1);
  RecordHeader h = header_of(s.data());
  const uint32_t stored = h.crc32c;
  h.crc32c = 0;
  std::vector<uint8_t> whole(sizeof h + sizeof body - 1);
  std::memcpy(whole.data(), &h, sizeof h);
  std::memcpy(whole.data() + sizeof h, body, sizeof body - 1);
  CHECK(stored == crc32c_portable(0, whole.data(), whole.size()));
}

TEST_CASE("a skip marker round-trips with its range in id and arrival_ns", "[storage]") {
  Scratch s(64);
  REQUIRE(encode_record(s.data(), RecordKind::skip, 4096, 8192, nullptr, 0) == 32);
  RecordView v{};
  REQUIRE(decode_record(s.data(), 32, v) == DecodeStatus::ok);
  CHECK(v.kind == RecordKind::skip);
  CHECK(v.id == 4096);
  CHECK(v.arrival_ns == 8192);
  CHECK(v.body_bytes == 0);
}

TEST_CASE("decode refuses a zero header, short input and bad magic", "[storage]") {
  Scratch s(64, 0);
  RecordView v{};
  CHECK(decode_record(s.data(), 64, v) == DecodeStatus::zero);
  CHECK(decode_record(s.data(), 31, v) == DecodeStatus::truncated);
  CHECK(decode_record(s.data(), 0, v) == DecodeStatus::truncated);
  // Magic zero but other header bytes set: not padding, a damaged header.
  s.data()[20] = 1;
  CHECK(decode_record(s.data(), 64, v) == DecodeStatus::bad_magic);
  encode_record(s.data(), RecordKind::usage, 1, 2, "x", 1);
  patch_and_reseal<uint32_t>(s.data(), 0, 0x31525243u, 1);
  CHECK(decode_record(s.data(), 64, v) == DecodeStatus::bad_magic);
}

TEST_CASE("decode refuses an unknown version, kind or oversized length", "[storage]") {
  Scratch s(64);
  RecordView v{};
  encode_record(s.data(), RecordKind::usage, 1, 2, "abc", 3);
  patch_and_reseal<uint16_t>(s.data(), 4, 2, 3);
  CHECK(decode_record(s.data(), 64, v) == DecodeStatus::bad_version);

  for (uint16_t kind : {uint16_t{0}, uint16_t{3}, uint16_t{0xFFFF}}) {
    encode_record(s.data(), RecordKind::usage, 1, 2, "abc", 3);
    patch_and_reseal<uint16_t>(s.data(), 6, kind, 3);
    CHECK(decode_record(s.data(), 64, v) == DecodeStatus::bad_kind);
  }

  encode_record(s.data(), RecordKind::usage, 1, 2, "abc", 3);
  std::memcpy(s.data() + 8, &kMaxRecordBody, 4);  // at the limit: too long for the input
  CHECK(decode_record(s.data(), 64, v) == DecodeStatus::truncated);
  const uint32_t over = kMaxRecordBody + 1;
  std::memcpy(s.data() + 8, &over, 4);
  CHECK(decode_record(s.data(), 64, v) == DecodeStatus::bad_length);
  const uint32_t huge = 0xFFFFFFFFu;
  std::memcpy(s.data() + 8, &huge, 4);
  CHECK(decode_record(s.data(), 64, v) == DecodeStatus::bad_length);
}

TEST_CASE("decode refuses a record cut short by the end of the input", "[storage]") {
  Scratch s(256);
  std::vector<uint8_t> body(100, 'b');
  const size_t n = encode_record(s.data(), RecordKind::usage, 5, 6, body.data(), 100);
  RecordView v{};
  for (size_t avail = 0; avail < n; ++avail) REQUIRE(decode_record(s.data(), avail, v) == DecodeStatus::truncated);
  CHECK(decode_record(s.data(), n, v) == DecodeStatus::ok);
}

TEST_CASE("any flipped bit in header or body makes the record invalid", "[storage]") {
  std::vector<uint8_t> body(45);
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<uint8_t>('a' + i % 26);
  Scratch s(256);
  const size_t n = encode_record(s.data(), RecordKind::usage, 0x0102030405060708ull,
                                 0x1112131415161718ull, body.data(), 45);
  std::vector<uint8_t> clean(s.data(), s.data() + 256);
  for (size_t byte = 0; byte < kRecordHeaderBytes + body.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::memcpy(s.data(), clean.data(), clean.size());
      s.data()[byte] = static_cast<uint8_t>(s.data()[byte] ^ (1u << bit));
      RecordView v{};
      const DecodeStatus st = decode_record(s.data(), n, v);
      INFO("byte " << byte << " bit " << bit);
      REQUIRE(st != DecodeStatus::ok);
      // The CRC, id, arrival time and body are checked by the CRC alone.
      if (byte >= 12) REQUIRE(st == DecodeStatus::bad_crc);
    }
  }
}

TEST_CASE("decode status names are human text", "[storage]") {
  CHECK(std::string(decode_status_name(DecodeStatus::bad_crc)) == "CRC32C mismatch");
  CHECK(std::string(decode_status_name(DecodeStatus::zero)) == "zero header");
  CHECK(std::string(decode_status_name(DecodeStatus::truncated)).find("end") != std::string::npos);
}
