// storage/crc32c: published CRC32C vectors (RFC 3720 B.4 and the "123456789" check value),
// and the hardware path against the table path on random data, lengths and chained calls.
#include "storage/crc32c.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <vector>

using busyring::storage::crc32c;
using busyring::storage::crc32c_portable;

TEST_CASE("CRC32C matches the published check values", "[storage]") {
  const char* digits = "123456789";
  CHECK(crc32c(0, digits, 9) == 0xE3069283u);
  CHECK(crc32c_portable(0, digits, 9) == 0xE3069283u);
  CHECK(crc32c(0, digits, 0) == 0u);

  uint8_t buf[32];
  std::memset(buf, 0, sizeof buf);
  CHECK(crc32c(0, buf, 32) == 0x8A9136AAu);
  std::memset(buf, 0xFF, sizeof buf);
  CHECK(crc32c(0, buf, 32) == 0x62A8AB43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  CHECK(crc32c(0, buf, 32) == 0x46DD794Eu);
  CHECK(crc32c_portable(0, buf, 32) == 0x46DD794Eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  CHECK(crc32c(0, buf, 32) == 0x113FDB5Cu);
}

TEST_CASE("the hardware path equals the portable path on random data of many lengths", "[storage]") {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> data(4096 + 16);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t len = 0; len <= 1100; ++len) {
    const size_t off = rng() % 16;  // misaligned starts too
    const uint32_t seed = (len % 3 == 0) ? 0u : static_cast<uint32_t>(rng());
    REQUIRE(crc32c(seed, data.data() + off, len) == crc32c_portable(seed, data.data() + off, len));
  }
  CHECK(crc32c(0, data.data(), 4096) == crc32c_portable(0, data.data(), 4096));
}

TEST_CASE("chained CRC32C calls equal one call over the concatenation", "[storage]") {
  std::mt19937_64 rng(11);
  std::vector<uint8_t> data(777);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  const uint32_t whole = crc32c(0, data.data(), data.size());
  REQUIRE(whole == crc32c_portable(0, data.data(), data.size()));
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    REQUIRE(crc32c(crc32c(0, data.data(), cut), data.data() + cut, data.size() - cut) == whole);
    REQUIRE(crc32c_portable(crc32c_portable(0, data.data(), cut), data.data() + cut,
                            data.size() - cut) == whole);
    // Mixed: either path may continue the other's CRC.
    REQUIRE(crc32c_portable(crc32c(0, data.data(), cut), data.data() + cut, data.size() - cut) == whole);
  }
  // Three pieces of random sizes.
  for (int t = 0; t < 200; ++t) {
    const size_t a = rng() % data.size(), b = a + rng() % (data.size() - a);
    uint32_t c = crc32c(0, data.data(), a);
    c = crc32c(c, data.data() + a, b - a);
    c = crc32c(c, data.data() + b, data.size() - b);
    REQUIRE(c == whole);
  }
}

TEST_CASE("CRC32C changes when any single bit changes", "[storage]") {
  std::vector<uint8_t> data(64, 0x5A);
  const uint32_t base = crc32c(0, data.data(), data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      data[i] = static_cast<uint8_t>(data[i] ^ (1u << bit));
      REQUIRE(crc32c(0, data.data(), data.size()) != base);
      data[i] = static_cast<uint8_t>(data[i] ^ (1u << bit));
    }
  }
}
