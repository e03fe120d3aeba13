// The lines of a request head and of a trailer section, read byte by byte before llhttp sees
// them (issue 18). Each line must end in exactly CRLF; a line starting with whitespace
// (obs-fold) is refused (RFC 9112 5.2); names are tokens (RFC 9112 5.1). The method is
// withheld and llhttp is given a stand-in, so that an unknown method still parses. Trailing
// whitespace of a value is withheld too: llhttp 8.1 refuses "Content-Length: 2<TAB>" and
// does not see "Connection: close<TAB>" as close.
//
//   idle ─token─► method ─SP─► target ─SP─► version ─CR─► request_lf ─LF─► line_start
//   line_start ─token─► name ─:─► before_value ─► value ─CR─► field_lf ─LF─► line_start
//   line_start ─CR─► end_lf ─LF─► head (or, after the last chunk, request) complete
#include <array>
#include <cstring>
#include <string_view>

#include "busyring/http/parser.h"
#include "busyring/base/ascii.h"
#include "busyring/http/token.h"

namespace busyring::http {
namespace {

// llhttp reads any method as this one (ours is kept aside), except CONNECT, after which
// llhttp ends the framing as before: nothing after a CONNECT is read as HTTP.
constexpr char kStandIn[] = "POST ";
constexpr char kConnect[] = "CONNECT ";
constexpr char kSpaces[] = "                                ";

bool is_ws(char c) { return c == ' ' || c == '\t'; }

using base::lower;

// Bytes that end a run of the target, the version or a value (SP, HTAB, CR, LF), and bytes
// that may continue a name (tchar).
enum : uint8_t { kBreaksValue = 1, kBreaksTarget = 2, kBreaksVersion = 4, kToken = 8 };

constexpr auto kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') t[static_cast<size_t>(c)] |= kBreaksValue;
    if (ch == ' ' || ch == '\r' || ch == '\n') t[static_cast<size_t>(c)] |= kBreaksTarget;
    if (ch == '\r' || ch == '\n') t[static_cast<size_t>(c)] |= kBreaksVersion;
    if (is_token_char(ch)) t[static_cast<size_t>(c)] |= kToken;
  }
  return t;
}();

uint8_t class_of(char c) { return kClass[static_cast<unsigned char>(c)]; }

}  // namespace

Event Parser::lex_fields(Feed& f) noexcept {
  while (f.p < f.end) {
    const bool runs = lex_ == Lex::target || lex_ == Lex::version || lex_ == Lex::name ||
                      (lex_ == Lex::value && ws_run_ == 0);
    if (runs && lex_run(f) && f.p == f.end) break;
    const Event ev = lex_byte(f);
    if (ev != Event::need_more) return ev;
  }
  return end_feed_in_fields(f);
}

// The fast path: a run of bytes inside a target, a version, a name or a value that needs no
// decision, taken at once (the same as lex_byte one by one, limits included: a run stops
// short of the byte that would pass one, which lex_byte then refuses). False when there is
// none at f.p.
bool Parser::lex_run(Feed& f) noexcept {
  const size_t head_left = head_bytes_ < limits_->max_head_bytes ? limits_->max_head_bytes - head_bytes_ : 0;
  size_t n = static_cast<size_t>(f.end - f.p) < head_left ? static_cast<size_t>(f.end - f.p) : head_left;
  const char* const p = f.p;
  size_t i = 0;
  switch (lex_) {
    case Lex::target: {
      const size_t target_left = limits_->max_target_bytes - target_len_;
      if (n > target_left) n = target_left;
      while (i < n && (class_of(p[i]) & kBreaksTarget) == 0) ++i;
      std::memcpy(target_buf_ + target_len_, p, i);
      target_len_ = static_cast<uint16_t>(target_len_ + i);
      break;
    }
    case Lex::version:
      while (i < n && (class_of(p[i]) & kBreaksVersion) == 0) ++i;
      break;
    case Lex::name:
      for (; i < n && (class_of(p[i]) & kToken) != 0; ++i) {
        if (name_len_ < sizeof name_) name_[name_len_] = lower(p[i]);
        if (name_len_ < 255) ++name_len_;
      }
      break;
    case Lex::value: {
      if (ws_run_ > 0) return false;  // the next non-blank byte decides what the run was
      if (header_ != Header::other) {
        while (i < n && (class_of(p[i]) & kBreaksValue) == 0) capture_value(p[i++]);
        break;
      }
      // A value we do not act on: up to its CR at once, unless blanks end it there (they are
      // withheld) or a bare LF is inside; inner blanks go to llhttp as they are.
      const void* cr = std::memchr(p, '\r', n);
      size_t end = cr != nullptr ? static_cast<size_t>(static_cast<const char*>(cr) - p) : n;
      if (std::memchr(p, '\n', end) != nullptr) return false;
      while (end > 0 && is_ws(p[end - 1])) --end;
      i = end;
      break;
    }
    default:
      return false;
  }
  if (i == 0) return false;
  head_bytes_ += static_cast<uint32_t>(i);
  f.p += i;
  return true;
}

// Reads the byte at f.p and moves past it (past the bytes llhttp took, when a head or a
// request ends).
Event Parser::lex_byte(Feed& f) noexcept {
  const char c = *f.p;
  if (lex_ != Lex::idle && lex_ != Lex::idle_lf && ++head_bytes_ > limits_->max_head_bytes)
    return fail_now(ParseError::head_too_large, nullptr);
  switch (lex_) {
    case Lex::idle:
    case Lex::idle_lf:
    case Lex::method:
      return lex_method_byte(f);
    case Lex::target:
      if (c == ' ') {
        lex_ = Lex::version;
      } else if (c == '\r' || c == '\n') {
        return fail_now(ParseError::malformed, "request line without a version");
      } else {
        if (target_len_ >= limits_->max_target_bytes) return fail_now(ParseError::target_too_long, nullptr);
        target_buf_[target_len_++] = c;
      }
      break;
    case Lex::version:
      if (c == '\r') lex_ = Lex::request_lf;
      else if (c == '\n') return fail_now(ParseError::malformed, "bare LF in the request line");
      break;
    case Lex::request_lf:
    case Lex::field_lf:
      if (c != '\n') return fail_now(ParseError::malformed, "bare CR in the request head");
      if (lex_ == Lex::field_lf) {
        const Event ev = end_field();
        if (ev != Event::need_more) return ev;
      }
      lex_ = Lex::line_start;
      break;
    case Lex::line_start: {
      const Event ev = start_field(c);
      if (ev != Event::need_more) return ev;
      break;
    }
    case Lex::name:
      if (c == ':') {
        end_name();
        lex_ = Lex::before_value;
      } else if (!is_token_char(c)) {
        return fail_now(ParseError::malformed, "field name is not a token");
      } else {
        if (name_len_ < sizeof name_) name_[name_len_] = lower(c);
        if (name_len_ < 255) ++name_len_;
      }
      break;
    case Lex::before_value:
      if (is_ws(c)) break;  // leading OWS: llhttp skips it too
      if (c == '\r') {
        lex_ = Lex::field_lf;
        break;
      }
      lex_ = Lex::value;
      return value_byte(f);
    case Lex::value:
      return value_byte(f);
    case Lex::end_lf:
      if (c != '\n') return fail_now(ParseError::malformed, "bare CR in the request head");
      return end_fields(f);
  }
  ++f.p;
  return Event::need_more;
}

// Empty lines between requests, then the method: withheld from llhttp, which gets a stand-in.
Event Parser::lex_method_byte(Feed& f) noexcept {
  const char c = *f.p;
  if (lex_ == Lex::idle_lf) {
    if (c != '\n') return fail_now(ParseError::malformed, "bare CR before the request line");
    lex_ = Lex::idle;
  } else if (lex_ == Lex::idle && c == '\r') {
    lex_ = Lex::idle_lf;
  } else if (lex_ == Lex::idle) {
    if (!is_token_char(c)) return fail_now(ParseError::malformed, "request line does not start with a method");
    begin_request();
    head_bytes_ = 1;
    method_[method_len_++] = c;
    lex_ = Lex::method;
  } else if (c == ' ') {
    return end_method(f);
  } else {
    if (!is_token_char(c)) return fail_now(ParseError::malformed, "method is not a token");
    if (method_len_ < sizeof method_) method_[method_len_] = c;
    if (method_len_ < 255) ++method_len_;
  }
  f.seg = ++f.p;
  return Event::need_more;
}

// The method ends at the SP at f.p: llhttp gets the stand-in, then the target that follows.
Event Parser::end_method(Feed& f) noexcept {
  f.seg = ++f.p;
  lex_ = Lex::target;
  if (method_len_ == 7 && std::string_view(method_, 7) == "CONNECT") return exec_made(kConnect, sizeof kConnect - 1);
  return exec_made(kStandIn, sizeof kStandIn - 1);
}

Event Parser::start_field(char c) noexcept {
  if (c == '\r') {
    lex_ = Lex::end_lf;
    return Event::need_more;
  }
  if (is_ws(c)) return fail_now(ParseError::malformed, "line folding (obs-fold) or whitespace before a field");
  if (!is_token_char(c)) return fail_now(ParseError::malformed, "field name is not a token");
  if (++header_count_ > limits_->max_headers) return fail_now(ParseError::head_too_large, nullptr);
  name_len_ = 0;
  name_[name_len_++] = lower(c);
  lex_ = Lex::name;
  return Event::need_more;
}

// The byte at f.p of a field value. Whitespace is withheld until the next byte says what it was.
Event Parser::value_byte(Feed& f) noexcept {
  const char* const p = f.p++;
  const char c = *p;
  if (is_ws(c)) {
    if (ws_run_ == 0) f.ws_start = p;
    ++ws_run_;
    return Event::need_more;
  }
  if (c == '\n') return fail_now(ParseError::malformed, "bare LF in a field value");
  if (ws_run_ > 0) {
    if (c == '\r') {
      // Trailing whitespace: llhttp never sees it; the CR goes on.
      const Event ev = flush_to(f, f.ws_start);
      f.seg = p;
      ws_run_ = 0;
      ws_carry_ = 0;
      if (ev != Event::need_more) return ev;
    } else {
      // Inside the value: what earlier feeds held back goes as spaces, this feed's as it came.
      for (uint32_t left = ws_carry_; left > 0;) {
        const uint32_t n = left < sizeof kSpaces - 1 ? left : static_cast<uint32_t>(sizeof kSpaces - 1);
        const Event ev = exec_made(kSpaces, n);
        if (ev != Event::need_more) return ev;
        left -= n;
      }
      for (uint32_t i = 0; i < ws_run_; ++i) capture_value(' ');
      ws_run_ = 0;
      ws_carry_ = 0;
    }
  }
  if (c == '\r') {
    lex_ = Lex::field_lf;
    return Event::need_more;
  }
  capture_value(c);
  return Event::need_more;
}

// The LF at f.p ends the head or the trailer section: llhttp takes the bytes up to it and
// pauses (on_headers_complete or on_message_complete) right after it.
Event Parser::end_fields(Feed& f) noexcept {
  const char* const after = f.p + 1;
  const Event want = in_trailers_ ? Event::request : Event::head;
  const char* stop = nullptr;
  const Event ev = exec_real(f.seg, after, stop);
  if (ev == Event::error) return ev;
  if (ev != want || stop != after) return fail_now(ParseError::malformed, "request framing is inconsistent");
  f.p = after;
  f.seg = after;
  return ev;
}

// The feed ends inside the fields: llhttp gets what it may see now; a whitespace run in a
// value waits for the next feed.
Event Parser::end_feed_in_fields(Feed& f) noexcept {
  if (lex_ == Lex::value && ws_run_ > 0) {
    const Event ev = flush_to(f, f.ws_start);
    f.seg = f.end;
    ws_carry_ = ws_run_;
    return ev;
  }
  return flush_to(f, f.end);
}

}  // namespace busyring::http
