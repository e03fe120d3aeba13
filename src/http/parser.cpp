// llhttp wrapper: one static settings table, callbacks forwarded to the Parser in `data`.
// Lenient flags stay off: llhttp's strict defaults reject CL+TE, bad chunk sizes and bare LF.
// What llhttp 8.1 gets wrong is done here instead (issue 18): the lines of the framing are
// read by fields.cpp and ChunkLine, and llhttp is fed only bytes it reads as RFC 9112 means.
//
//   fields ──head──► body (Content-Length, or none) ──request──► fields
//      │                                                         ▲
//      └─head (chunked)──► chunk_line ─► chunk_data ─► chunk_crlf ┤ (size > 0: next line)
//                             └── size 0 ──► fields (trailers) ──request──┘
#include "busyring/http/parser.h"

#include <cstring>

#include "busyring/base/ascii.h"
#include "busyring/base/assert.h"
#include "busyring/http/host_syntax.h"

namespace busyring::http {
namespace {

Parser* self(llhttp_t* p) { return static_cast<Parser*>(p->data); }

int cb_headers_complete(llhttp_t* p) { return self(p)->on_headers_complete(); }
int cb_body(llhttp_t* p, const char* at, size_t n) { return self(p)->on_body(at, n); }
int cb_message_complete(llhttp_t* p) { return self(p)->on_message_complete(); }

llhttp_settings_t make_settings() {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_headers_complete = cb_headers_complete;
  s.on_body = cb_body;
  s.on_message_complete = cb_message_complete;
  return s;
}

const llhttp_settings_t kSettings = make_settings();

using base::ieq;
using base::lower;
using base::trim;

ContentType classify_media_type(std::string_view value) {
  const size_t semi = value.find(';');
  const std::string_view type = trim(value.substr(0, semi));
  if (ieq(type, "application/json")) return ContentType::json;
  for (std::string_view lines : {"application/x-ndjson", "application/jsonlines", "application/json-lines",
                                 "application/x-jsonlines"})
    if (ieq(type, lines)) return ContentType::ndjson;
  if (type.size() > 5) {
    const std::string_view suffix = type.substr(type.size() - 5);
    const size_t slash = type.find('/');
    if (ieq(suffix, "+json") && slash != std::string_view::npos && ieq(type.substr(0, slash), "application"))
      return ContentType::json;
  }
  return ContentType::other;
}

// RFC 9110 9.3 and RFC 5789: methods busyring knows and does not serve get 405; any other
// token is a method it does not know (501).
Method classify_method(std::string_view m) {
  if (m == "GET") return Method::get;
  if (m == "HEAD") return Method::head;
  if (m == "POST") return Method::post;
  for (std::string_view known : {"PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"})
    if (m == known) return Method::other;
  return Method::unknown;
}

constexpr char kCrlf[] = "\r\n";

}  // namespace

void Parser::init(const Limits* limits, char* staging, char* target_buf, char* credentials_buf) noexcept {
  BR_ASSERT(limits != nullptr && staging != nullptr && target_buf != nullptr);
  // Called between requests (a workspace attached) or after an error. A CR of an empty line
  // between requests may have come just before: that much of the stream carries over.
  const bool cr_between_requests = error_ == ParseError::none && !in_request_ && lex_ == Lex::idle_lf;
  *this = Parser{};
  limits_ = limits;
  staging_ = staging;
  target_buf_ = target_buf;
  credentials_ = credentials_buf;
  llhttp_init(&llhttp_, HTTP_REQUEST, &kSettings);
  llhttp_.data = this;
  if (cr_between_requests) lex_ = Lex::idle_lf;
}

void Parser::begin_request() noexcept {
  head_ = RequestHead{};
  body_ = nullptr;
  body_bytes_ = 0;
  body_in_staging_ = false;
  discard_body_ = false;
  in_request_ = true;
  in_trailers_ = false;
  header_count_ = 0;
  target_len_ = 0;
  method_len_ = 0;
  header_ = Header::other;
  name_len_ = 0;
  value_len_ = 0;
  host_count_ = 0;
  host_invalid_ = false;
  te_count_ = 0;
  authorization_count_ = 0;
  credentials_len_ = 0;
  ce_count_ = 0;
  ws_run_ = 0;
  ws_carry_ = 0;
  chunk_remaining_ = 0;
  crlf_seen_ = 0;
}

Event Parser::feed(const char* data, size_t len, size_t& consumed) noexcept {
  consumed = 0;
  if (error_ != ParseError::none) return Event::error;
  pending_ = Event::need_more;
  // ws_start: where a whitespace run carried from the last feed continues.
  Feed f{data, data + len, data, data};
  Event ev = Event::need_more;
  if (llhttp_get_errno(&llhttp_) == HPE_PAUSED) {
    // Paused after a head or a request: llhttp finishes that step on no bytes (a request
    // without a body completes; the end-of-message checks run).
    llhttp_resume(&llhttp_);
    ev = exec_real(f.p, f.p, f.p);
  }
  while (ev == Event::need_more && f.p < f.end) {
    switch (phase_) {
      case Phase::fields: ev = lex_fields(f); break;
      case Phase::body: ev = exec_real(f.p, f.end, f.p); break;  // llhttp pauses at the end
      case Phase::chunk_line: ev = read_chunk_line(f); break;
      case Phase::chunk_data: ev = read_chunk_data(f); break;
      case Phase::chunk_crlf: ev = read_chunk_crlf(f); break;
    }
  }
  if (ev == Event::error) return ev;
  consumed = static_cast<size_t>(f.p - data);
  if (ev == Event::need_more) BR_ASSERT(consumed == len);
  return ev;
}

// Runs llhttp over received bytes [from, to); `stop` is where it stopped.
Event Parser::exec_real(const char* from, const char* to, const char*& stop) noexcept {
  const llhttp_errno_t err = llhttp_execute(&llhttp_, from, static_cast<size_t>(to - from));
  if (err == HPE_OK) {
    stop = to;
    return Event::need_more;
  }
  if (err == HPE_PAUSED) {
    const char* pos = llhttp_get_error_pos(&llhttp_);
    if (pos == nullptr || pos < from || pos > to) return fail_now(ParseError::malformed, "parser position lost");
    stop = pos;
    BR_ASSERT(pending_ == Event::head || pending_ == Event::request);
    return pending_;
  }
  if (error_ == ParseError::none) {
    error_ = ParseError::malformed;
    reason_ = llhttp_get_error_reason(&llhttp_);
  }
  return Event::error;
}

// Runs llhttp over bytes made here (a stand-in method, a canonical chunk line, spaces). They
// never end a head or a request, so anything but HPE_OK is an error.
Event Parser::exec_made(const char* bytes, size_t n) noexcept {
  const char* stop = nullptr;
  const Event ev = exec_real(bytes, bytes + n, stop);
  if (ev == Event::need_more || ev == Event::error) return ev;
  return fail_now(ParseError::malformed, "request framing is inconsistent");
}

// Gives llhttp the received bytes from f.seg to `to`, which are neither the end of a head nor
// of a request.
Event Parser::flush_to(Feed& f, const char* to) noexcept {
  const char* stop = nullptr;
  const Event ev = to > f.seg ? exec_real(f.seg, to, stop) : Event::need_more;
  f.seg = to;
  if (ev == Event::head || ev == Event::request)
    return fail_now(ParseError::malformed, "request framing is inconsistent");
  return ev;
}

const char* Parser::error_reason() const noexcept {
  switch (error_) {
    case ParseError::none: return "";
    case ParseError::malformed: return reason_ != nullptr ? reason_ : "malformed request";
    case ParseError::head_too_large: return "request head over the size or count limit";
    case ParseError::target_too_long: return "request target too long";
    case ParseError::body_too_large: return "request body over --max-body";
    case ParseError::version: return "only HTTP/1.0 and HTTP/1.1 are supported";
  }
  return "";
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

int Parser::fail(ParseError e, const char* reason) noexcept {
  error_ = e;
  reason_ = reason;
  return HPE_USER;
}

Event Parser::fail_now(ParseError e, const char* reason) noexcept {
  if (error_ == ParseError::none) {
    error_ = e;
    reason_ = reason;
  }
  return Event::error;
}

// ---- field semantics: the few header fields we act on -------------------------------------

void Parser::end_name() noexcept {
  const std::string_view name(name_, name_len_ <= sizeof name_ ? name_len_ : 0);
  header_ = in_trailers_                   ? Header::other
            : name == "content-type"       ? Header::content_type
            : name == "content-encoding"   ? Header::content_encoding
            : name == "expect"             ? Header::expect
            : name == "transfer-encoding"  ? Header::transfer_encoding
            : name == "host"               ? Header::host
            : name == "authorization" && credentials_ != nullptr ? Header::authorization
                                           : Header::other;
  value_len_ = 0;
  if (header_ == Header::host) host_.reset();
}

void Parser::capture_value(char c) noexcept {
  if (header_ == Header::other) return;
  if (header_ == Header::host) {
    host_.feed(c);
    return;
  }
  if (header_ == Header::authorization) {
    if (credentials_len_ < kCredentialsBytes) credentials_[credentials_len_] = c;
    if (credentials_len_ <= kCredentialsBytes) ++credentials_len_;
    return;
  }
  if (value_len_ < sizeof value_) value_[value_len_] = c;
  if (value_len_ < 255) ++value_len_;
}

Event Parser::end_field() noexcept {
  const std::string_view value(value_, value_len_ <= sizeof value_ ? value_len_ : 0);
  switch (header_) {
    case Header::content_type:
      head_.content_type = value_len_ > sizeof value_ ? ContentType::other : classify_media_type(value);
      break;
    case Header::content_encoding:
      // One coding, gzip (x-gzip is its old alias, RFC 9110 8.4.1.3) or identity; a list
      // ("gzip, gzip") or a second field is refused with the rest (415).
      if (ce_count_ < 255) ++ce_count_;
      if (ce_count_ > 1 || value_len_ > sizeof value_) head_.content_encoding = ContentEncoding::other;
      else if (ieq(value, "gzip") || ieq(value, "x-gzip")) head_.content_encoding = ContentEncoding::gzip;
      else if (!ieq(value, "identity")) head_.content_encoding = ContentEncoding::other;
      break;
    case Header::transfer_encoding:
      // Only one plain "chunked" frames a request body we accept: codings stacked before it,
      // or chunked twice, are how smuggling starts (llhttp lets "gzip, chunked" through).
      if (++te_count_ > 1 || value_len_ > sizeof value_ || !ieq(value, "chunked"))
        return fail_now(ParseError::malformed, "Transfer-Encoding other than one chunked");
      break;
    case Header::expect:
      if (ieq(value, "100-continue")) head_.expect_continue = true;
      else head_.expect_unknown = true;
      break;
    case Header::host:
      if (host_count_ < 255) ++host_count_;
      if (!host_.valid()) host_invalid_ = true;
      break;
    case Header::authorization:
      // A second Authorization field, or one over the buffer, cannot be a token we accept.
      if (++authorization_count_ > 1 || credentials_len_ > kCredentialsBytes)
        head_.credentials = Bearer{Credentials::malformed, {}};
      else
        head_.credentials = parse_bearer(std::string_view(credentials_, credentials_len_));
      credentials_len_ = 0;
      break;
    case Header::other:
      break;
  }
  header_ = Header::other;
  name_len_ = 0;
  value_len_ = 0;
  return Event::need_more;
}

// ---- llhttp callbacks ----------------------------------------------------------------------

int Parser::on_headers_complete() noexcept {
  head_.method = classify_method(std::string_view(method_, method_len_ <= sizeof method_ ? method_len_ : 0u));
  head_.target = std::string_view(target_buf_, target_len_);
  // origin-form, or absolute-form (RFC 9112 3.2.2: a server MUST accept it); authority-form
  // and asterisk-form are for proxies and server-wide OPTIONS, which we are not. Checked
  // before the version, so that the HTTP/2 preface ("PRI * HTTP/2.0") is malformed, not 505.
  if ((head_.target.empty() || head_.target.front() != '/') && !is_absolute_form(head_.target))
    return fail(ParseError::malformed, "request target neither origin-form nor absolute-form");
  if (llhttp_get_http_major(&llhttp_) != 1 || llhttp_get_http_minor(&llhttp_) > 1)
    return fail(ParseError::version, nullptr);
  head_.version_minor = llhttp_get_http_minor(&llhttp_);
  // RFC 9112 3.2: 400 for an HTTP/1.1 request without Host, for two Host lines, and for a
  // Host that is not uri-host [ ":" port ].
  if (host_count_ > 1) return fail(ParseError::malformed, "more than one Host field");
  if (host_invalid_) return fail(ParseError::malformed, "Host is not a valid host[:port]");
  if (host_count_ == 0 && head_.version_minor == 1) return fail(ParseError::malformed, "HTTP/1.1 request without Host");
  head_.chunked = (llhttp_.flags & F_CHUNKED) != 0;
  // RFC 9112 6.1: Transfer-Encoding in a 1.0 request means the framing is faulty.
  if (head_.version_minor == 0 && (head_.chunked || (llhttp_.flags & F_TRANSFER_ENCODING) != 0))
    return fail(ParseError::malformed, "Transfer-Encoding in an HTTP/1.0 request");
  const bool has_cl = (llhttp_.flags & F_CONTENT_LENGTH) != 0;
  head_.has_length = head_.chunked || has_cl;
  if (has_cl && !head_.chunked) {
    head_.content_length = llhttp_.content_length;
    if (head_.content_length > limits_->max_body) return fail(ParseError::body_too_large, nullptr);
  }
  keep_alive_ = llhttp_should_keep_alive(&llhttp_) != 0;
  if (head_.chunked) {
    phase_ = Phase::chunk_line;
    chunk_line_.reset();
  } else {
    phase_ = Phase::body;
  }
  pending_ = Event::head;
  return HPE_PAUSED;
}

int Parser::on_body(const char* at, size_t len) noexcept {
  if (head_.chunked) chunk_remaining_ -= len;  // llhttp was given no more than the chunk
  if (discard_body_) return 0;
  if (body_bytes_ + len > limits_->max_body) return fail(ParseError::body_too_large, nullptr);
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
  in_trailers_ = false;
  phase_ = Phase::fields;
  lex_ = Lex::idle;
  head_bytes_ = 0;
  pending_ = Event::request;
  return HPE_PAUSED;
}

// ---- chunked framing -----------------------------------------------------------------------

// A chunk-size line is read here, then llhttp gets "<size>\r\n". The size is checked against
// --max-body as soon as the line ends (413 before any of the chunk's bytes arrive).
Event Parser::read_chunk_line(Feed& f) noexcept {
  size_t used = 0;
  const ChunkLine::Step s = chunk_line_.feed(f.p, static_cast<size_t>(f.end - f.p), used, limits_->max_head_bytes);
  f.p += used;
  if (s == ChunkLine::Step::more) return Event::need_more;
  if (s == ChunkLine::Step::too_long) return fail_now(ParseError::malformed, "chunk line too long");
  if (s == ChunkLine::Step::bad) return fail_now(ParseError::malformed, "chunk line not size [extensions] CRLF");
  const uint64_t size = chunk_line_.size();
  if (!discard_body_ && size > limits_->max_body - body_bytes_)
    return fail_now(ParseError::body_too_large, nullptr);
  char line[24];
  size_t n = 0;
  for (int shift = 60; shift >= 0; shift -= 4) {
    const auto digit = static_cast<unsigned>((size >> shift) & 0xf);
    if (n == 0 && digit == 0 && shift != 0) continue;
    line[n++] = "0123456789abcdef"[digit];
  }
  line[n++] = '\r';
  line[n++] = '\n';
  const Event ev = exec_made(line, n);
  if (ev != Event::need_more) return ev;
  f.seg = f.p;
  chunk_line_.reset();
  chunk_remaining_ = size;
  if (size == 0) {
    // The last chunk: trailer fields follow, then an empty line.
    phase_ = Phase::fields;
    lex_ = Lex::line_start;
    in_trailers_ = true;
  } else {
    phase_ = Phase::chunk_data;
  }
  return Event::need_more;
}

// Chunk data goes to llhttp, never past the chunk's end (the CRLF after it is ours).
Event Parser::read_chunk_data(Feed& f) noexcept {
  const auto avail = static_cast<uint64_t>(f.end - f.p);
  const char* to = f.p + (avail < chunk_remaining_ ? avail : chunk_remaining_);
  const Event ev = exec_real(f.p, to, f.p);
  if (ev != Event::need_more) return ev;
  f.seg = f.p;
  if (chunk_remaining_ == 0) {
    phase_ = Phase::chunk_crlf;
    crlf_seen_ = 0;
  }
  return Event::need_more;
}

// The CRLF after chunk data: llhttp 8.1 skips two bytes there unchecked, so they are checked
// here and llhttp is given a CRLF.
Event Parser::read_chunk_crlf(Feed& f) noexcept {
  while (crlf_seen_ < 2 && f.p < f.end) {
    if (*f.p != kCrlf[crlf_seen_]) return fail_now(ParseError::malformed, "chunk data not followed by CRLF");
    ++crlf_seen_;
    ++f.p;
  }
  f.seg = f.p;
  if (crlf_seen_ < 2) return Event::need_more;
  const Event ev = exec_made(kCrlf, 2);
  if (ev != Event::need_more) return ev;
  phase_ = Phase::chunk_line;
  return Event::need_more;
}

}  // namespace busyring::http
