// The load generator's clock: CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall), and the
// offset that maps the kernel's CLOCK_REALTIME packet timestamps onto it.
#pragma once

#include <time.h>

#include <cstdint>

namespace busyring::load {

[[nodiscard]] inline uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

// CLOCK_REALTIME - CLOCK_MONOTONIC now (read back to back; the gap is tens of ns).
[[nodiscard]] inline uint64_t realtime_offset_ns() noexcept {
  timespec real{};
  clock_gettime(CLOCK_REALTIME, &real);
  const uint64_t real_ns =
      static_cast<uint64_t>(real.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(real.tv_nsec);
  return real_ns - now_ns();
}

}  // namespace busyring::load
