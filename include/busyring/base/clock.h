// Clocks: monotonic nanoseconds for timeouts and latency, wall-clock nanoseconds for record
// arrival times. Both are vDSO calls (no syscall).
#pragma once

#include <cstdint>
#include <ctime>

namespace busyring::base {

inline uint64_t ns_of(const timespec& ts) noexcept {
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ns_of(ts);
}

inline uint64_t wall_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ns_of(ts);
}

// CLOCK_REALTIME - CLOCK_MONOTONIC now (read back to back; the gap is tens of ns): maps the
// kernel's CLOCK_REALTIME timestamps (SO_TIMESTAMPNS) onto the monotonic clock.
inline uint64_t realtime_offset_ns() noexcept {
  const uint64_t real_ns = wall_ns();
  return real_ns - monotonic_ns();
}

}  // namespace busyring::base
