// The chunk-size line state machine (see chunk_line.h for the grammar). Every state names
// the bytes it accepts; anything else is bad, so a bare CR or LF never ends a line.
#include "busyring/http/chunk_line.h"

#include "busyring/http/token.h"

namespace busyring::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_ws(char c) { return c == ' ' || c == '\t'; }

// qdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 5.6.4)
bool is_qdtext(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b == '\t' || b == ' ' || b == 0x21 || (b >= 0x23 && b <= 0x5b) || (b >= 0x5d && b <= 0x7e) || b >= 0x80;
}

// After a backslash: HTAB / SP / VCHAR / obs-text
bool is_quotable(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b == '\t' || b == ' ' || (b >= 0x21 && b <= 0x7e) || b >= 0x80;
}

}  // namespace

void ChunkLine::reset() noexcept {
  state_ = State::first_digit;
  size_ = 0;
  line_bytes_ = 0;
}

ChunkLine::Step ChunkLine::feed(const char* p, size_t n, size_t& used, uint32_t max_line_bytes) noexcept {
  for (size_t i = 0; i < n; ++i) {
    if (++line_bytes_ > max_line_bytes) {
      used = i;
      return Step::too_long;
    }
    const Step s = step(p[i]);
    if (s != Step::more) {
      used = i + 1;
      return s;
    }
  }
  used = n;
  return Step::more;
}

ChunkLine::Step ChunkLine::step_size(char c) noexcept {
  const int v = hex_value(c);
  if (v >= 0) {
    if ((size_ >> 60) != 0) return Step::bad;  // a 17th significant digit overflows
    size_ = size_ << 4 | static_cast<uint64_t>(v);
    state_ = State::digits;
    return Step::more;
  }
  if (state_ == State::first_digit) return Step::bad;
  if (c == ';') state_ = State::before_name;
  else if (is_ws(c)) state_ = State::bws_before_semi;
  else if (c == '\r') state_ = State::lf;
  else return Step::bad;
  return Step::more;
}

ChunkLine::Step ChunkLine::step(char c) noexcept {
  switch (state_) {
    case State::first_digit:
    case State::digits:
      return step_size(c);
    case State::bws_before_semi:
      if (c == ';') state_ = State::before_name;
      else if (!is_ws(c)) return Step::bad;
      return Step::more;
    case State::before_name:
      if (is_token_char(c)) state_ = State::name;
      else if (!is_ws(c)) return Step::bad;
      return Step::more;
    case State::name:
      if (is_token_char(c)) return Step::more;
      if (c == '=') state_ = State::before_value;
      else if (c == ';') state_ = State::before_name;
      else if (is_ws(c)) state_ = State::after_name;
      else if (c == '\r') state_ = State::lf;
      else return Step::bad;
      return Step::more;
    case State::after_name:
      if (c == '=') state_ = State::before_value;
      else if (c == ';') state_ = State::before_name;
      else if (!is_ws(c)) return Step::bad;
      return Step::more;
    case State::before_value:
      if (is_token_char(c)) state_ = State::token_value;
      else if (c == '"') state_ = State::quoted;
      else if (!is_ws(c)) return Step::bad;
      return Step::more;
    case State::token_value:
      if (is_token_char(c)) return Step::more;
      if (c == ';') state_ = State::before_name;
      else if (is_ws(c)) state_ = State::bws_before_semi;
      else if (c == '\r') state_ = State::lf;
      else return Step::bad;
      return Step::more;
    case State::quoted:
      if (c == '"') state_ = State::after_quoted;
      else if (c == '\\') state_ = State::quoted_pair;
      else if (!is_qdtext(c)) return Step::bad;
      return Step::more;
    case State::quoted_pair:
      if (!is_quotable(c)) return Step::bad;
      state_ = State::quoted;
      return Step::more;
    case State::after_quoted:
      if (c == ';') state_ = State::before_name;
      else if (is_ws(c)) state_ = State::bws_before_semi;
      else if (c == '\r') state_ = State::lf;
      else return Step::bad;
      return Step::more;
    case State::lf:
      return c == '\n' ? Step::done : Step::bad;
  }
  return Step::bad;
}

}  // namespace busyring::http
