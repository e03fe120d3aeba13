// Host and absolute-form target syntax; see host_syntax.h.
#include "busyring/http/host_syntax.h"

#include "busyring/http/token.h"

namespace busyring::http {

void HostSyntax::feed(char c) noexcept {
  switch (state_) {
    case State::start:
    case State::reg_name:
      if (state_ == State::start && c == '[') {
        state_ = State::ip_literal;
      } else if (is_unreserved(c) || is_sub_delim(c)) {
        state_ = State::reg_name;
      } else if (c == '%') {
        state_ = State::pct1;
      } else if (c == ':') {
        state_ = State::port;
        return;
      } else {
        state_ = State::invalid;
        return;
      }
      if (host_bytes_ < 2) ++host_bytes_;
      return;
    case State::pct1:
    case State::pct2:
      state_ = !is_hex_digit(c) ? State::invalid : state_ == State::pct1 ? State::pct2 : State::reg_name;
      if (host_bytes_ < 2) ++host_bytes_;
      return;
    case State::ip_literal:
      // IPv6address and IPvFuture both fit in unreserved / sub-delims / ":".
      if (c == ']') state_ = host_bytes_ > 1 ? State::ip_literal_end : State::invalid;
      else if (!is_unreserved(c) && !is_sub_delim(c) && c != ':') state_ = State::invalid;
      if (host_bytes_ < 2) ++host_bytes_;
      return;
    case State::ip_literal_end:
      state_ = c == ':' ? State::port : State::invalid;
      return;
    case State::port:
      if (!is_digit(c)) state_ = State::invalid;
      return;
    case State::invalid:
      return;
  }
}

bool HostSyntax::valid() const noexcept {
  switch (state_) {
    case State::start: case State::reg_name: case State::ip_literal_end: case State::port: return true;
    case State::pct1: case State::pct2: case State::ip_literal: case State::invalid: return false;
  }
  return false;
}

namespace {

// The length of "http://" or "https://" at the start of target (any case), else 0.
size_t scheme_prefix(std::string_view target) noexcept {
  auto ieq_prefix = [&](std::string_view want) {
    if (target.size() < want.size()) return false;
    for (size_t i = 0; i < want.size(); ++i) {
      char c = target[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != want[i]) return false;
    }
    return true;
  };
  if (ieq_prefix("http://")) return 7;
  if (ieq_prefix("https://")) return 8;
  return 0;
}

size_t authority_end(std::string_view target, size_t from) noexcept {
  size_t i = from;
  while (i < target.size() && target[i] != '/' && target[i] != '?' && target[i] != '#') ++i;
  return i;
}

}  // namespace

bool is_absolute_form(std::string_view target) noexcept {
  const size_t from = scheme_prefix(target);
  if (from == 0) return false;
  const size_t end = authority_end(target, from);
  if (end < target.size() && target[end] == '#') return false;  // no fragment in a target
  HostSyntax host;
  for (size_t i = from; i < end; ++i) host.feed(target[i]);
  // RFC 9110 4.2.1: an http URI with an empty host is invalid ("userinfo@" is refused too).
  return host.valid() && host.has_host();
}

std::string_view origin_part(std::string_view target) noexcept {
  if (!target.empty() && target.front() == '/') return target;
  const size_t from = scheme_prefix(target);
  if (from == 0) return {};
  const size_t end = authority_end(target, from);
  if (end == target.size() || target[end] == '?') return "/";  // "http://a" and "http://a?q"
  return target.substr(end);
}

}  // namespace busyring::http
