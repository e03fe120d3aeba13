// base/units: the one dialect of counts, sizes and durations every busyring tool reads (issue
// 14): each accepted spelling with its exact value, each refused one, and the forms --help prints.
#include "busyring/base/units.h"

#include <catch2/catch.hpp>

#include <string>

using namespace busyring::base;

TEST_CASE("sizes: plain bytes and binary units in the spellings operators use", "[base][units]") {
  const struct {
    const char* text;
    uint64_t bytes;
  } cases[] = {
      {"0", 0},
      {"4096", 4096},
      {"512B", 512},
      {"64K", 65536},
      {"64k", 65536},
      {"64KB", 65536},
      {"64kb", 65536},
      {"64KiB", 65536},
      {"1M", 1ull << 20},
      {"1MiB", 1ull << 20},
      {"1mib", 1ull << 20},
      {"1MB", 1ull << 20},
      {"2m", 2ull << 20},
      {"1.5M", 3ull << 19},
      {"0.5K", 512},
      {"3G", 3ull << 30},
      {"1GiB", 1ull << 30},
      {"1T", 1ull << 40},
      {"18446744073709551615", UINT64_MAX},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    uint64_t v = 7;
    REQUIRE(parse_size(c.text, v));
    CHECK(v == c.bytes);
  }
}

TEST_CASE("sizes: junk, fractional bytes and overflow are refused and leave the value alone", "[base][units]") {
  for (const char* bad : {"", "K", "KiB", "1X", "1KX", "1Kib ", " 1K", "1 K", "-1", "+1", "0x10", "1e3", "1.", ".5K",
                          "1.5", "0.3K", "1.2.3", "1P", "1Ki", "1KBB", "18446744073709551616",
                          "18014398509481984K", "99999999999999999999G", "16777216T"}) {
    INFO("'" << bad << "'");
    uint64_t v = 77;
    CHECK_FALSE(parse_size(bad, v));
    CHECK(v == 77);
  }
}

TEST_CASE("durations: ns to days, fractions, and a plain number in the flag's own unit", "[base][units]") {
  const struct {
    const char* text;
    uint64_t plain_unit_ns;
    uint64_t ns;
  } cases[] = {
      {"500ms", kNsPerS, 500 * kNsPerMs},
      {"10s", kNsPerS, 10 * kNsPerS},
      {"1m", kNsPerS, kNsPerMin},
      {"24h", kNsPerS, 24 * kNsPerHour},
      {"1d", kNsPerS, 24 * kNsPerHour},
      {"250us", kNsPerS, 250 * kNsPerUs},
      {"7ns", kNsPerS, 7},
      {"1.5s", kNsPerS, 1500 * kNsPerMs},
      {"0.25s", kNsPerS, 250 * kNsPerMs},
      {"90", kNsPerS, 90 * kNsPerS},            // plain seconds (--idle-timeout 90)
      {"2.5", kNsPerS, 2500 * kNsPerMs},        // plain seconds with a fraction (--duration 2.5)
      {"250", kNsPerUs, 250 * kNsPerUs},        // plain microseconds (--batch-us 250)
      {"0", kNsPerS, 0},
      {"0ms", kNsPerS, 0},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    uint64_t v = 7;
    REQUIRE(parse_duration(c.text, c.plain_unit_ns, v));
    CHECK(v == c.ns);
  }
}

TEST_CASE("durations: unknown or upper-case units, signs and inexact values are refused", "[base][units]") {
  for (const char* bad : {"", "s", "ms", "10S", "1H", "1M", "5min", "1w", "-1s", "+1s", "1 s", "1s ", "1.s", ".5s",
                          "1e3s", "0.5ns", "1.0000000001s", "1h30m", "18446744073709551616ns", "213504d"}) {
    INFO("'" << bad << "'");
    uint64_t v = 77;
    CHECK_FALSE(parse_duration(bad, kNsPerS, v));
    CHECK(v == 77);
  }
}

TEST_CASE("counts and decimals: digits only", "[base][units]") {
  uint64_t n = 0;
  CHECK((parse_u64("18000", n) && n == 18000));
  CHECK((parse_u64("18446744073709551615", n) && n == UINT64_MAX));
  for (const char* bad : {"", "-1", "+1", "1k", "1.0", " 1", "18446744073709551616"}) CHECK_FALSE(parse_u64(bad, n));
  double d = 0;
  CHECK((parse_decimal("18000", d) && d == 18000));
  CHECK((parse_decimal("2.5", d) && d == 2.5));
  for (const char* bad : {"", "-1", "1e9", "inf", "nan", "1.", ".5", "1,5", "0x1"}) {
    INFO(bad);
    CHECK_FALSE(parse_decimal(bad, d));
  }
}

TEST_CASE("sizes and durations print in the shortest exact form, and read back", "[base][units]") {
  CHECK(format_size(0) == "0");
  CHECK(format_size(100) == "100");
  CHECK(format_size(65536) == "64K");
  CHECK(format_size(1536) == "1536");
  CHECK(format_size(3ull << 19) == "1536K");
  CHECK(format_size(16ull << 20) == "16M");
  CHECK(format_size(1ull << 40) == "1T");
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(kNsPerMs) == "1ms");
  CHECK(format_duration(1500 * kNsPerMs) == "1500ms");
  CHECK(format_duration(60 * kNsPerS) == "60s");
  CHECK(format_duration(10 * kNsPerMin) == "10m");
  CHECK(format_duration(24 * kNsPerHour) == "24h");
  CHECK(format_duration(250 * kNsPerUs) == "250us");
  CHECK(format_duration(7) == "7ns");
  for (const uint64_t bytes : {uint64_t{0}, uint64_t{100}, uint64_t{65536}, uint64_t{3} << 19, uint64_t{1} << 40}) {
    uint64_t back = 1;
    REQUIRE(parse_size(format_size(bytes), back));
    CHECK(back == bytes);
  }
  for (const uint64_t ns : {uint64_t{0}, uint64_t{7}, 1500 * kNsPerMs, 60 * kNsPerS, 24 * kNsPerHour}) {
    uint64_t back = 1;
    REQUIRE(parse_duration(format_duration(ns), kNsPerS, back));
    CHECK(back == ns);
  }
}
