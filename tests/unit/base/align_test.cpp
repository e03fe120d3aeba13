// base/align.h: the power-of-two test and the rounding used for direct-I/O offsets and
// lengths. Checked on edges (0, exact multiples, one past) and against plain arithmetic.
#include "busyring/base/align.h"

#include <catch2/catch.hpp>

#include <cstdint>

using busyring::base::align_down;
using busyring::base::align_up;
using busyring::base::is_pow2;

TEST_CASE("is_pow2 accepts exactly the powers of two", "[base]") {
  CHECK_FALSE(is_pow2(0));
  for (int k = 0; k < 64; ++k) CHECK(is_pow2(1ull << k));
  CHECK_FALSE(is_pow2(3));
  CHECK_FALSE(is_pow2(513));
  CHECK_FALSE(is_pow2(4096 + 512));
  CHECK_FALSE(is_pow2(UINT64_MAX));
}

TEST_CASE("align_up rounds to the next multiple and keeps multiples", "[base]") {
  CHECK(align_up(0, 512) == 0);
  CHECK(align_up(1, 512) == 512);
  CHECK(align_up(511, 512) == 512);
  CHECK(align_up(512, 512) == 512);
  CHECK(align_up(513, 512) == 1024);
  CHECK(align_up(4097, 4096) == 8192);
  CHECK(align_up(7, 8) == 8);
  // Not only powers of two: the record size rounding works for any alignment.
  CHECK(align_up(10, 3) == 12);
  CHECK(align_up(12, 3) == 12);
}

TEST_CASE("align_down rounds to the previous multiple", "[base]") {
  CHECK(align_down(0, 512) == 0);
  CHECK(align_down(511, 512) == 0);
  CHECK(align_down(512, 512) == 512);
  CHECK(align_down(1023, 512) == 512);
  CHECK(align_down(10, 3) == 9);
}

TEST_CASE("align_up and align_down agree with their definition over a range", "[base]") {
  for (uint64_t a : {1ull, 8ull, 512ull, 4096ull, 24ull}) {
    for (uint64_t x = 0; x < 3 * a + 5; ++x) {
      const uint64_t up = align_up(x, a), down = align_down(x, a);
      REQUIRE(up % a == 0);
      REQUIRE(down % a == 0);
      REQUIRE(up >= x);
      REQUIRE(up - x < a);
      REQUIRE(down <= x);
      REQUIRE(x - down < a);
    }
  }
}
