// llhttp wrapper: one static settings table, callbacks forwarded to the Parser in `data`.
// Lenient flags stay off: llhttp 8.1's defaults reject CL+TE, a second Content-Length, an
// unknown Transfer-Encoding, bad chunk sizes and a bare LF ending a header value. What 8.1 lets
// through is rejected here: obs-fold, whitespace in a field name, a bare CR or LF
// after the request line or as the blank line, and anything but CRLF after chunk data.
#include "busyring/http/parser.h"

#include <cstring>

#include "busyring/base/ascii.h"
#include "busyring/base/assert.h"

namespace busyring::http {
namespace {

Parser* self(llhttp_t* p) { return static_cast<Parser*>(p->data); }

int cb_message_begin(llhttp_t* p) { return self(p)->on_message_begin(); }
int cb_url(llhttp_t* p, const char* at, size_t n) { return self(p)->on_target(at, n); }
int cb_header_field(llhttp_t* p, const char* at, size_t n) { return self(p)->on_header_field(at, n); }
int cb_header_value(llhttp_t* p, const char* at, size_t n) { return self(p)->on_header_value(at, n); }
int cb_header_value_complete(llhttp_t* p) { return self(p)->on_header_value_complete(); }
int cb_headers_complete(llhttp_t* p) { return self(p)->on_headers_complete(); }
int cb_body(llhttp_t* p, const char* at, size_t n) { return self(p)->on_body(at, n); }
int cb_message_complete(llhttp_t* p) { return self(p)->on_message_complete(); }
int cb_chunk_header(llhttp_t* p) { return self(p)->on_chunk_header(); }
int cb_ext_name(llhttp_t* p, const char* at, size_t n) { return self(p)->on_chunk_extension_name(at, n); }
int cb_ext_name_done(llhttp_t* p) { return self(p)->on_chunk_extension_name_complete(); }
int cb_ext_value(llhttp_t* p, const char* at, size_t n) { return self(p)->on_chunk_extension_value(at, n); }
int cb_ext_value_done(llhttp_t* p) { return self(p)->on_chunk_extension_value_complete(); }

llhttp_settings_t make_settings() {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_message_begin = cb_message_begin;
  s.on_url = cb_url;
  s.on_header_field = cb_header_field;
  s.on_header_value = cb_header_value;
  s.on_header_value_complete = cb_header_value_complete;
  s.on_headers_complete = cb_headers_complete;
  s.on_body = cb_body;
  s.on_message_complete = cb_message_complete;
  s.on_chunk_header = cb_chunk_header;
  s.on_chunk_extension_name = cb_ext_name;
  s.on_chunk_extension_name_complete = cb_ext_name_done;
  s.on_chunk_extension_value = cb_ext_value;
  s.on_chunk_extension_value_complete = cb_ext_value_done;
  return s;
}

const llhttp_settings_t kSettings = make_settings();

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~': return true;
    default: return false;
  }
}

using base::ieq;
using base::lower;
using base::trim;

ContentType classify_media_type(std::string_view value) {
  const size_t semi = value.find(';');
  const std::string_view type = trim(value.substr(0, semi));
  if (ieq(type, "application/json")) return ContentType::json;
  if (type.size() > 5) {
    const std::string_view suffix = type.substr(type.size() - 5);
    const size_t slash = type.find('/');
    if (ieq(suffix, "+json") && slash != std::string_view::npos && ieq(type.substr(0, slash), "application"))
      return ContentType::json;
  }
  return ContentType::other;
}

}  // namespace

void Parser::init(const Limits* limits, char* staging, char* target_buf) noexcept {
  BR_ASSERT(limits != nullptr && staging != nullptr && target_buf != nullptr);
  limits_ = limits;
  staging_ = staging;
  target_buf_ = target_buf;
  llhttp_init(&llhttp_, HTTP_REQUEST, &kSettings);
  llhttp_.data = this;
  error_ = ParseError::none;
  in_request_ = false;
  body_ = nullptr;
  body_bytes_ = 0;
}

Event Parser::feed(const char* data, size_t len, size_t& consumed) noexcept {
  consumed = 0;
  if (error_ != ParseError::none) return Event::error;
  if (llhttp_get_errno(&llhttp_) == HPE_PAUSED) llhttp_resume(&llhttp_);
  pending_ = Event::need_more;
  feed_start_ = data;
  feed_end_ = data + len;
  prev_feed_fold_prefix_ = feed_fold_prefix_;
  {
    // Does this feed leave the stream ending in LF + optional whitespace?
    size_t i = len;
    while (i > 0 && (data[i - 1] == ' ' || data[i - 1] == '\t')) --i;
    if (i > 0) feed_fold_prefix_ = data[i - 1] == '\n';
    else feed_fold_prefix_ = feed_fold_prefix_ && true;  // only whitespace: the state carries on
  }
  if (crlf_expect_ > 0 && !check_chunk_crlf(data, data + len)) {
    error_ = ParseError::malformed;
    return Event::error;
  }
  // Bytes of a request head are checked for bare CR and bare LF, which llhttp 8.1 accepts in
  // places (after the request line, as the blank line ending the head).
  const bool in_head = !head_done_ || !in_request_;
  const llhttp_errno_t err = llhttp_execute(&llhttp_, data, len);
  if (err == HPE_OK) {
    consumed = len;
    if (in_head && !check_line_ends(data, len)) {
      error_ = ParseError::malformed;
      return Event::error;
    }
    return Event::need_more;
  }
  const char* pos = llhttp_get_error_pos(&llhttp_);
  consumed = (pos != nullptr && pos >= data && pos <= data + len) ? static_cast<size_t>(pos - data) : len;
  if (err == HPE_PAUSED) {
    BR_ASSERT(pending_ == Event::head || pending_ == Event::request);
    if (in_head && pending_ == Event::head && !check_line_ends(data, consumed)) {
      error_ = ParseError::malformed;
      return Event::error;
    }
    return pending_;
  }
  if (error_ == ParseError::none) error_ = ParseError::malformed;
  return Event::error;
}

const char* Parser::error_reason() const noexcept {
  switch (error_) {
    case ParseError::none: return "";
    case ParseError::malformed: {
      const char* r = llhttp_get_error_reason(&llhttp_);
      return r != nullptr ? r : "malformed request";
    }
    case ParseError::head_too_large: return "request head over the size or count limit";
    case ParseError::target_too_long: return "request target too long";
    case ParseError::body_too_large: return "request body over --max-body";
    case ParseError::version: return "only HTTP/1.0 and HTTP/1.1 are supported";
  }
  return "";
}

bool Parser::check_line_ends(const char* p, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const char b = p[i];
    if (b == '\n' && last_head_byte_ != '\r') return false;
    if (last_head_byte_ == '\r' && b != '\n') return false;
    last_head_byte_ = b;
  }
  return true;
}

void Parser::stash() noexcept {
  if (!in_request_ || body_in_staging_ || body_bytes_ == 0) return;
  std::memcpy(staging_, body_, body_bytes_);
  body_ = staging_;
  body_in_staging_ = true;
}

void Parser::keep_body() noexcept {
  if (body_in_staging_ || body_bytes_ == 0) return;
  std::memmove(staging_, body_, body_bytes_);
  body_ = staging_;
  body_in_staging_ = true;
}

int Parser::fail(ParseError e) noexcept {
  error_ = e;
  return HPE_USER;
}

bool Parser::count_head(size_t len) noexcept {
  head_bytes_ += static_cast<uint32_t>(len);
  return head_bytes_ <= limits_->max_head_bytes;
}

int Parser::on_message_begin() noexcept {
  head_ = RequestHead{};
  body_ = nullptr;
  body_bytes_ = 0;
  body_in_staging_ = false;
  discard_body_ = false;
  in_request_ = true;
  head_done_ = false;
  head_bytes_ = 0;
  header_count_ = 0;
  target_len_ = 0;
  name_len_ = 0;
  value_len_ = 0;
  header_ = Header::other;
  in_value_ = false;
  chunk_remaining_ = 0;
  crlf_expect_ = 0;
  name_seen_ = false;
  return 0;
}

int Parser::on_target(const char* at, size_t len) noexcept {
  if (!count_head(len)) return fail(ParseError::head_too_large);
  if (target_len_ + len > limits_->max_target_bytes) return fail(ParseError::target_too_long);
  std::memcpy(target_buf_ + target_len_, at, len);
  target_len_ = static_cast<uint16_t>(target_len_ + len);
  return 0;
}

int Parser::on_header_field(const char* at, size_t len) noexcept {
  if (!count_head(len)) return fail(ParseError::head_too_large);
  if (len > 0) name_seen_ = true;
  for (size_t i = 0; i < len; ++i) {
    // llhttp (non-strict) lets whitespace into most names; RFC 9112 5.1 says reject.
    if (!is_token_char(at[i])) return fail(ParseError::malformed);
    if (name_len_ < sizeof name_) name_[name_len_] = lower(at[i]);
    if (name_len_ < 255) ++name_len_;
  }
  return 0;
}

int Parser::on_header_value(const char* at, size_t len) noexcept {
  if (!count_head(len)) return fail(ParseError::head_too_large);
  if (value_len_ == 0 && name_len_ != 0) {
    const std::string_view name(name_, name_len_ <= sizeof name_ ? name_len_ : 0);
    header_ = name == "content-type"        ? Header::content_type
              : name == "expect"            ? Header::expect
              : name == "transfer-encoding" ? Header::transfer_encoding
                                            : Header::other;
    name_len_ = 0;
  }
  if (len == 0) return 0;  // llhttp reports some empty values as an empty span
  // A value arrives in several spans only across feeds; within one feed it is obs-fold.
  if (in_value_ && !(value_ended_at_feed_end_ && at == feed_start_)) return fail(ParseError::malformed);
  in_value_ = true;
  value_ended_at_feed_end_ = at + len == feed_end_;
  // A value's first span right after CRLF + whitespace is a fold of an empty first line.
  const char* p = at;
  while (p > feed_start_ && (p[-1] == ' ' || p[-1] == '\t')) --p;
  if (p > feed_start_ && p[-1] == '\n') return fail(ParseError::malformed);
  if (p == feed_start_ && prev_feed_fold_prefix_) return fail(ParseError::malformed);
  if (header_ == Header::other) return 0;
  for (size_t i = 0; i < len; ++i) {
    if (value_len_ < sizeof value_) value_[value_len_] = at[i];
    if (value_len_ < 255) ++value_len_;
  }
  return 0;
}

int Parser::on_header_value_complete() noexcept {
  in_value_ = false;
  if (!name_seen_) return fail(ParseError::malformed);  // ": value" has no field name
  name_seen_ = false;
  if (++header_count_ > limits_->max_headers) return fail(ParseError::head_too_large);
  const std::string_view value(value_, value_len_ <= sizeof value_ ? value_len_ : 0);
  if (header_ == Header::content_type) {
    head_.content_type = value_len_ > sizeof value_ ? ContentType::other : classify_media_type(value);
  } else if (header_ == Header::transfer_encoding) {
    // Only a plain "chunked" frames a request body we accept: codings stacked before it, or
    // chunked twice, are how smuggling starts (llhttp lets "gzip, chunked" through).
    if (value_len_ > sizeof value_ || !ieq(trim(value), "chunked")) return fail(ParseError::malformed);
  } else if (header_ == Header::expect) {
    if (ieq(trim(value), "100-continue")) head_.expect_continue = true;
    else head_.expect_unknown = true;
  }
  header_ = Header::other;
  name_len_ = 0;
  value_len_ = 0;
  return 0;
}

int Parser::on_headers_complete() noexcept {
  // A header with an empty value never calls on_header_value: drop its pending name.
  name_len_ = 0;
  if (llhttp_get_http_major(&llhttp_) != 1 || llhttp_get_http_minor(&llhttp_) > 1)
    return fail(ParseError::version);
  head_.version_minor = llhttp_get_http_minor(&llhttp_);
  switch (llhttp_get_method(&llhttp_)) {
    case HTTP_GET: head_.method = Method::get; break;
    case HTTP_HEAD: head_.method = Method::head; break;
    case HTTP_POST: head_.method = Method::post; break;
    default: head_.method = Method::other; break;
  }
  head_.target = std::string_view(target_buf_, target_len_);
  // origin-form only: an absolute-form or authority-form target is for proxies, and we are none.
  if (head_.target.empty() || head_.target.front() != '/') return fail(ParseError::malformed);
  head_.chunked = (llhttp_.flags & F_CHUNKED) != 0;
  // RFC 9112 6.1: Transfer-Encoding in a 1.0 request means the framing is faulty.
  if (head_.version_minor == 0 && (head_.chunked || (llhttp_.flags & F_TRANSFER_ENCODING) != 0))
    return fail(ParseError::malformed);
  const bool has_cl = (llhttp_.flags & F_CONTENT_LENGTH) != 0;
  head_.has_length = head_.chunked || has_cl;
  if (has_cl && !head_.chunked) {
    head_.content_length = llhttp_.content_length;
    if (head_.content_length > limits_->max_body) return fail(ParseError::body_too_large);
  }
  keep_alive_ = llhttp_should_keep_alive(&llhttp_) != 0;
  head_done_ = true;
  pending_ = Event::head;
  return HPE_PAUSED;
}

// The bytes after a chunk's data must be CRLF; they may arrive in a later feed.
bool Parser::check_chunk_crlf(const char* p, const char* end) noexcept {
  while (crlf_expect_ > 0 && p < end) {
    if (*p != (crlf_expect_ == 2 ? '\r' : '\n')) return false;
    --crlf_expect_;
    ++p;
  }
  return true;
}

// Chunk extensions are ignored (RFC 9112 7.1.1) but must be well formed; llhttp 8.1 lets an
// empty name and control bytes in values through, so names are checked as tokens and values
// for control bytes here.
int Parser::on_chunk_extension_name(const char* at, size_t len) noexcept {
  for (size_t i = 0; i < len; ++i)
    if (!is_token_char(at[i])) return fail(ParseError::malformed);
  ext_name_len_ += static_cast<uint32_t>(len);
  return 0;
}

int Parser::on_chunk_extension_name_complete() noexcept {
  if (ext_name_len_ == 0) return fail(ParseError::malformed);
  ext_name_len_ = 0;
  ext_named_ = true;
  return 0;
}

int Parser::on_chunk_extension_value(const char* at, size_t len) noexcept {
  if (!ext_named_) return fail(ParseError::malformed);
  for (size_t i = 0; i < len; ++i) {
    const auto b = static_cast<unsigned char>(at[i]);
    if ((b < 0x20 && b != '\t') || b == 0x7f) return fail(ParseError::malformed);
  }
  return 0;
}

int Parser::on_chunk_extension_value_complete() noexcept {
  ext_named_ = false;
  return 0;
}

int Parser::on_chunk_header() noexcept {
  chunk_remaining_ = llhttp_.content_length;
  return 0;
}

int Parser::on_body(const char* at, size_t len) noexcept {
  if (head_.chunked) {
    chunk_remaining_ = len >= chunk_remaining_ ? 0 : chunk_remaining_ - len;
    if (chunk_remaining_ == 0) {
      crlf_expect_ = 2;
      if (!check_chunk_crlf(at + len, feed_end_)) return fail(ParseError::malformed);
    }
  }
  if (discard_body_) return 0;
  if (body_bytes_ + len > limits_->max_body) return fail(ParseError::body_too_large);
  if (body_bytes_ == 0 && !body_in_staging_) {
    body_ = at;
    body_bytes_ = static_cast<uint32_t>(len);
    return 0;
  }
  if (!body_in_staging_) {
    std::memmove(staging_, body_, body_bytes_);
    body_ = staging_;
    body_in_staging_ = true;
  }
  std::memcpy(staging_ + body_bytes_, at, len);
  body_bytes_ += static_cast<uint32_t>(len);
  return 0;
}

int Parser::on_message_complete() noexcept {
  keep_alive_ = llhttp_should_keep_alive(&llhttp_) != 0;
  in_request_ = false;
  pending_ = Event::request;
  return HPE_PAUSED;
}

}  // namespace busyring::http
