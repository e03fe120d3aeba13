// ASCII text helpers for protocol tokens (HTTP field names and values): locale-free and
// constexpr, so the parser and the load generator read headers the same way.
#pragma once

#include <cstddef>
#include <string_view>

namespace busyring::base {

// 'A'..'Z' to 'a'..'z'; every other byte unchanged.
constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Equal but for ASCII case.
constexpr bool ieq(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// Without leading and trailing spaces and tabs (HTTP's optional whitespace, OWS).
constexpr std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

static_assert(lower('Q') == 'q' && lower('q') == 'q' && lower('@') == '@' && lower('[') == '[');
static_assert(ieq("Content-Length", "content-LENGTH") && !ieq("chunked", "chunked "));
static_assert(trim(" \tclose\t ") == "close" && trim(" \t").empty());

}  // namespace busyring::base
