// One connection's HTTP/1.1 request parser: llhttp underneath, with the limits we enforce and
// the body gathered for validation. Feed it bytes; it stops after each request's head (so the
// caller can refuse early or send 100 Continue) and after each complete request (so responses
// are queued one request at a time, and a full pipeline can stop the parse).
//
// Body bytes are zero-copy when a body arrives in one piece: body() then points into the bytes
// given to feed(), which must stay valid until the next feed(). When a body spans pieces, it
// is gathered in the connection's staging area, which the caller provides with
// SIMDJSON_PADDING bytes of slack after `staging_capacity`. Call stash() before the bytes given
// to feed() go away (end of each receive).
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "busyring/http/request.h"

namespace busyring::http {

enum class ParseError : uint8_t {
  none,
  malformed,        // 400: llhttp rejected the bytes (framing lost: close)
  head_too_large,   // 431
  target_too_long,  // 414
  body_too_large,   // 413
  version,          // 505
};

enum class Event : uint8_t {
  need_more,  // every byte consumed, request incomplete
  head,       // head complete: inspect head(), then feed() the rest
  request,    // request complete: head() and body() valid until the next feed()
  error,      // see error(); the connection must answer and close
};

struct Limits {
  uint32_t max_head_bytes = 8192;  // request line + headers
  uint32_t max_headers = 100;
  uint32_t max_target_bytes = 2048;
  uint32_t max_body = 64 * 1024;
};

class Parser {
 public:
  void init(const Limits* limits, char* staging, char* target_buf) noexcept;

  // Parses from data; `consumed` says how many bytes were used (the rest must be fed again).
  Event feed(const char* data, size_t len, size_t& consumed) noexcept;
  // Copies a body still pointing into the fed bytes into staging.
  void stash() noexcept;
  // Copies the body of the request just completed into staging, so it outlives the fed bytes
  // (a request held until the log has room).
  void keep_body() noexcept;
  // Refuse the body of the current request: it is parsed and dropped, not gathered.
  void discard_body() noexcept { discard_body_ = true; }

  const RequestHead& head() const noexcept { return head_; }
  std::string_view body() const noexcept { return {body_, body_bytes_}; }
  bool keep_alive() const noexcept { return keep_alive_; }
  ParseError error() const noexcept { return error_; }
  const char* error_reason() const noexcept;
  bool in_request() const noexcept { return in_request_; }

  // llhttp callbacks (static trampolines live in parser.cpp).
  int on_message_begin() noexcept;
  int on_target(const char* at, size_t len) noexcept;
  int on_header_field(const char* at, size_t len) noexcept;
  int on_header_value(const char* at, size_t len) noexcept;
  int on_header_value_complete() noexcept;
  int on_headers_complete() noexcept;
  int on_body(const char* at, size_t len) noexcept;
  int on_chunk_header() noexcept;
  int on_chunk_extension_name(const char* at, size_t len) noexcept;
  int on_chunk_extension_name_complete() noexcept;
  int on_chunk_extension_value(const char* at, size_t len) noexcept;
  int on_chunk_extension_value_complete() noexcept;
  int on_message_complete() noexcept;

 private:
  enum class Header : uint8_t { other, content_type, expect, transfer_encoding };
  int fail(ParseError e) noexcept;
  bool count_head(size_t len) noexcept;
  bool check_chunk_crlf(const char* p, const char* end) noexcept;

  llhttp_t llhttp_{};
  const Limits* limits_ = nullptr;
  char* staging_ = nullptr;
  char* target_buf_ = nullptr;
  RequestHead head_{};
  const char* body_ = nullptr;
  uint32_t body_bytes_ = 0;
  bool body_in_staging_ = false;
  bool discard_body_ = false;
  bool keep_alive_ = true;
  bool in_request_ = false;
  bool head_done_ = false;
  Event pending_ = Event::need_more;
  ParseError error_ = ParseError::none;
  uint32_t head_bytes_ = 0;
  uint32_t header_count_ = 0;
  uint16_t target_len_ = 0;
  Header header_ = Header::other;
  uint8_t name_len_ = 0;
  uint8_t value_len_ = 0;
  char name_[24] = {};  // the longest name we act on is "transfer-encoding"
  char value_[48] = {};
  // Strictness llhttp 8.1 lacks: obs-fold (a value continued on the next line) and the CRLF
  // after chunk data (llhttp skips two bytes unchecked) are rejected here.
  const char* feed_start_ = nullptr;
  const char* feed_end_ = nullptr;
  bool in_value_ = false;
  bool value_ended_at_feed_end_ = false;
  uint64_t chunk_remaining_ = 0;
  uint8_t crlf_expect_ = 0;  // bytes of the CRLF after chunk data still to check
  bool name_seen_ = false;   // the current header line had a field name
  uint32_t ext_name_len_ = 0;  // chunk extension name bytes so far
  bool ext_named_ = false;     // a chunk extension value has a name before it
  char last_head_byte_ = 0;  // for the bare CR / bare LF check across feeds
  // The bytes fed so far end in LF then only spaces/tabs: a value span starting the next feed
  // is then a folded continuation line.
  bool prev_feed_fold_prefix_ = false;
  bool feed_fold_prefix_ = false;
  bool check_line_ends(const char* p, size_t n) noexcept;
};

}  // namespace busyring::http
