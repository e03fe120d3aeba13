// Numbers as operators write them on a command line: counts, sizes ("64K", "1MiB") and
// durations ("500ms", "10s", "1m", "24h"), and the same forms printed back for --help and
// error lines. One dialect for every busyring tool. Pure functions: no I/O, no locale.
//
// Sizes: a plain number is bytes; K, M, G, T are binary (1024) whatever the spelling: `64K`,
// `64k`, `64KB` and `64KiB` are all 65536 bytes, as nginx and systemd read them. A fraction
// is allowed when the result is a whole number of bytes (`1.5M`).
// Durations: ns, us, ms, s, m, h, d (lower case: `m` is minutes, never months or mega); a
// plain number is in the flag's own unit (seconds for most flags). A fraction is allowed when
// the result is a whole number of nanoseconds (`1.5s`, `0.5`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace busyring::base {

inline constexpr uint64_t kNsPerUs = 1'000;
inline constexpr uint64_t kNsPerMs = 1'000'000;
inline constexpr uint64_t kNsPerS = 1'000'000'000;
inline constexpr uint64_t kNsPerMin = 60 * kNsPerS;
inline constexpr uint64_t kNsPerHour = 60 * kNsPerMin;

// Decimal digits only ("0".."18446744073709551615"): no sign, no spaces, no unit.
[[nodiscard]] bool parse_u64(std::string_view text, uint64_t& out) noexcept;
// A finite decimal number ("18000", "2.5", "0.25"); no sign, no exponent, no unit.
[[nodiscard]] bool parse_decimal(std::string_view text, double& out) noexcept;
// "65536", "64K", "64KiB", "1.5M" -> bytes; false on junk, a fractional byte or overflow.
[[nodiscard]] bool parse_size(std::string_view text, uint64_t& bytes) noexcept;
// "500ms", "10s", "1m", "24h", or a plain number in units of plain_unit_ns -> nanoseconds.
[[nodiscard]] bool parse_duration(std::string_view text, uint64_t plain_unit_ns, uint64_t& ns) noexcept;

// The shortest exact form: 65536 -> "64K", 16777216 -> "16M", 1000 -> "1000".
std::string format_size(uint64_t bytes);
// The largest unit that divides exactly: 86400e9 -> "24h", 1.5e9 -> "1500ms", 60e9 -> "60s"
// (minutes only from 2m up, so a minute reads as operators usually write it).
std::string format_duration(uint64_t ns);

}  // namespace busyring::base
