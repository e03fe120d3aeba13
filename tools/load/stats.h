// Counters one worker keeps while it runs, merged into the run's totals at the end.
// Plain data owned by one thread; only merge() combines them (after the threads joined).
// An error is counted once per request it cost (a timeout with 4 requests in flight is 4),
// except connect errors, which count failed connection attempts.
#pragma once

#include <array>
#include <cstdint>

namespace busyring::load {

enum class ErrorKind : uint8_t { connect, read, write, status, malformed, timeout };
inline constexpr uint32_t error_kind_count = 6;
[[nodiscard]] const char* error_kind_name(ErrorKind kind);

struct Stats {
  uint64_t sent = 0;       // requests issued
  uint64_t responses = 0;  // complete, well-formed responses of any status
  uint64_t ok = 0;         // responses with the expected status (201 for POST, 200 for GET)
  uint64_t ids = 0;        // acknowledged ids seen (201 {"id":N}, or K of a batch's 201)
  uint64_t missed = 0;     // open loop: due before the end but never sent
  std::array<uint64_t, error_kind_count> errors{};
  std::array<uint64_t, 600> by_status{};  // unexpected statuses, by code (100..599)

  void count_error(ErrorKind kind, uint64_t n) noexcept {
    errors[static_cast<uint32_t>(kind)] += n;
  }
  [[nodiscard]] uint64_t error(ErrorKind kind) const noexcept {
    return errors[static_cast<uint32_t>(kind)];
  }
  [[nodiscard]] uint64_t error_total() const noexcept;
  void merge(const Stats& other) noexcept;
};

}  // namespace busyring::load
