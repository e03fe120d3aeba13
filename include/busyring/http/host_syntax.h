// Host syntax (RFC 9112 3.2, RFC 3986 3.2.2-3.2.3): uri-host [ ":" port ], checked byte by
// byte so that a Host value split across receives needs no copy. Also the absolute-form
// request target (RFC 9112 3.2.2), whose authority is a host of the same syntax.
#pragma once

#include <cstdint>
#include <string_view>

namespace busyring::http {

class HostSyntax {
 public:
  void reset() noexcept { *this = HostSyntax{}; }
  void feed(char c) noexcept;
  // The bytes so far form a whole valid host (an empty one included).
  bool valid() const noexcept;
  // The host part (before any port) is not empty.
  bool has_host() const noexcept { return host_bytes_ > 0; }

 private:
  enum class State : uint8_t { start, reg_name, pct1, pct2, ip_literal, ip_literal_end, port, invalid };
  State state_ = State::start;
  uint8_t host_bytes_ = 0;  // 0, 1, or 2 for more
};

// "http://" or "https://" (any case), a non-empty host, then an empty path, "/..." or "?...".
bool is_absolute_form(std::string_view target) noexcept;

// The origin-form part of a target: itself when it starts with "/", the path and query of an
// absolute-form target ("/" when its path is empty, its query then dropped: routing ignores
// queries), or empty for anything else.
std::string_view origin_part(std::string_view target) noexcept;

}  // namespace busyring::http
