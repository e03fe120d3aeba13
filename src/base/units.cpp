// Counts, sizes and durations: exact integer arithmetic (a 128-bit intermediate), so "1.5M" is
// 1572864 and "0.1s" is 100000000 ns with no rounding; anything inexact or too large is refused.
#include "busyring/base/units.h"

#include <array>
#include <charconv>
#include <cmath>

namespace busyring::base {
namespace {

using u128 = unsigned __int128;

// "123" or "123.45": integer part and fraction digits (at most 18, so 10^k fits 64 bits).
struct Decimal {
  uint64_t whole = 0;
  uint64_t fraction = 0;
  uint64_t fraction_scale = 1;  // 10^(fraction digits)
};

bool split_decimal(std::string_view text, Decimal& out) noexcept {
  const size_t dot = text.find('.');
  if (!parse_u64(text.substr(0, dot), out.whole)) return false;
  if (dot == std::string_view::npos) return true;
  const std::string_view digits = text.substr(dot + 1);
  if (digits.empty() || digits.size() > 18 || !parse_u64(digits, out.fraction)) return false;
  for (size_t i = 0; i < digits.size(); ++i) out.fraction_scale *= 10;
  return true;
}

// The number times unit, when it is a whole number that fits 64 bits.
bool scale_exact(const Decimal& d, uint64_t unit, uint64_t& out) noexcept {
  const u128 fraction = static_cast<u128>(d.fraction) * unit;
  if (fraction % d.fraction_scale != 0) return false;
  const u128 total = static_cast<u128>(d.whole) * unit + fraction / d.fraction_scale;
  if (total > UINT64_MAX) return false;
  out = static_cast<uint64_t>(total);
  return true;
}

// Splits "64KiB" into "64" and "KiB": the number is the leading digits and dots.
void split_unit(std::string_view text, std::string_view& number, std::string_view& unit) noexcept {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  number = text.substr(0, i);
  unit = text.substr(i);
}

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_lower(std::string_view a, std::string_view lower_b) noexcept {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower_b[i]) return false;
  return true;
}

// "", "b" -> 1; "k", "kb", "kib" -> 1024; and so on up to T. Case-insensitive.
bool size_unit(std::string_view unit, uint64_t& mult) noexcept {
  if (unit.empty() || equals_lower(unit, "b")) {
    mult = 1;
    return true;
  }
  constexpr std::string_view prefixes = "kmgt";
  const size_t p = prefixes.find(lower(unit[0]));
  if (p == std::string_view::npos) return false;
  const std::string_view rest = unit.substr(1);
  if (!rest.empty() && !equals_lower(rest, "b") && !equals_lower(rest, "ib")) return false;
  mult = uint64_t{1} << (10 * (p + 1));
  return true;
}

struct DurationUnit {
  std::string_view name;
  uint64_t ns;
};

constexpr std::array<DurationUnit, 7> kDurationUnits = {{
    {"ns", 1}, {"us", kNsPerUs}, {"ms", kNsPerMs}, {"s", kNsPerS}, {"m", kNsPerMin}, {"h", kNsPerHour},
    {"d", 24 * kNsPerHour},
}};

}  // namespace

bool parse_u64(std::string_view text, uint64_t& out) noexcept {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

bool parse_decimal(std::string_view text, double& out) noexcept {
  // Only digits and one dot: from_chars alone would also take "-1", "1e9", "inf" and "nan".
  Decimal shape;
  if (!split_decimal(text, shape)) return false;
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parse_size(std::string_view text, uint64_t& bytes) noexcept {
  std::string_view number, unit;
  split_unit(text, number, unit);
  Decimal d;
  uint64_t mult = 1;
  return split_decimal(number, d) && size_unit(unit, mult) && scale_exact(d, mult, bytes);
}

bool parse_duration(std::string_view text, uint64_t plain_unit_ns, uint64_t& ns) noexcept {
  std::string_view number, unit;
  split_unit(text, number, unit);
  Decimal d;
  if (!split_decimal(number, d)) return false;
  if (unit.empty()) return scale_exact(d, plain_unit_ns, ns);
  for (const DurationUnit& u : kDurationUnits)
    if (unit == u.name) return scale_exact(d, u.ns, ns);
  return false;
}

std::string format_size(uint64_t bytes) {
  constexpr std::string_view suffixes = "KMGT";
  if (bytes == 0) return "0";
  std::string suffix;
  for (size_t i = 0; i < suffixes.size() && bytes % 1024 == 0; ++i) {
    bytes /= 1024;
    suffix = std::string(1, suffixes[i]);
  }
  return std::to_string(bytes) + suffix;
}

std::string format_duration(uint64_t ns) {
  if (ns == 0) return "0s";
  if (ns % kNsPerHour == 0) return std::to_string(ns / kNsPerHour) + "h";
  if (ns % kNsPerMin == 0 && ns >= 2 * kNsPerMin) return std::to_string(ns / kNsPerMin) + "m";
  for (size_t i = 3; i > 0; --i) {  // s, ms, us
    const DurationUnit& u = kDurationUnits[i];
    if (ns % u.ns == 0) return std::to_string(ns / u.ns) + std::string(u.name);
  }
  return std::to_string(ns) + "ns";
}

}  // namespace busyring::base
