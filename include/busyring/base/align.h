// Power-of-two and general alignment arithmetic, shared by storage (direct-I/O offsets) and
// net (buffer strides).
#pragma once

#include <cstdint>

#include "busyring/base/assert.h"

namespace busyring::base {

constexpr bool is_pow2(uint64_t x) noexcept { return x != 0 && (x & (x - 1)) == 0; }

constexpr uint64_t align_up(uint64_t x, uint64_t a) noexcept { return (x + a - 1) / a * a; }
constexpr uint64_t align_down(uint64_t x, uint64_t a) noexcept { return x / a * a; }

static_assert(align_up(0, 512) == 0);
static_assert(align_up(1, 512) == 512);
static_assert(align_up(512, 512) == 512);
static_assert(align_down(1023, 512) == 512);

}  // namespace busyring::base
