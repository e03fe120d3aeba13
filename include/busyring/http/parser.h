// One connection's HTTP/1.1 request parser: llhttp underneath, with the limits we enforce and
// the body gathered for validation. Feed it bytes; it stops after each request's head (so the
// caller can refuse early or send 100 Continue) and after each complete request (so responses
// are queued one request at a time, and a full pipeline can stop the parse).
//
// busyring reads every line of the framing itself and hands llhttp only what llhttp 8.1 reads
// as RFC 9112 means it (issue 18): the method is replaced by a stand-in (so that any
// well-formed method parses and gets 501 rather than a close), trailing whitespace of a field
// value is withheld (llhttp refuses a tab there), chunk lines are replaced by "<size>\r\n"
// (llhttp takes a bare CR as a line end). Every line (request line, fields, chunk lines,
// trailers) must end in exactly CRLF. See fields.cpp and chunk_line.h.
//
// Body bytes are zero-copy when a body arrives in one piece: body() then points into the bytes
// given to feed(), which must stay valid until the next feed(). When a body spans pieces, it
// is gathered in the connection's staging area, which the caller provides with
// SIMDJSON_PADDING bytes of slack after `staging_capacity`. Call stash() before the bytes given
// to feed() go away (end of each receive).
//
// The Authorization value is kept in a credentials buffer of kCredentialsBytes that the caller
// provides with the staging area (init); without one (framing-only tests), Authorization is
// not read and every head says Credentials::none.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "busyring/http/chunk_line.h"
#include "busyring/http/host_syntax.h"
#include "busyring/http/request.h"

namespace busyring::http {

enum class ParseError : uint8_t {
  none,
  malformed,        // 400: not HTTP/1.1 as RFC 9112 has it (framing lost: close)
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
  uint32_t max_head_bytes = 8192;  // request line + headers (and trailers); also one chunk line
  uint32_t max_headers = 100;
  uint32_t max_target_bytes = 2048;
  uint32_t max_body = 64 * 1024;
};

class Parser {
 public:
  void init(const Limits* limits, char* staging, char* target_buf, char* credentials_buf = nullptr) noexcept;

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
  int on_headers_complete() noexcept;
  int on_body(const char* at, size_t len) noexcept;
  int on_message_complete() noexcept;

 private:
  // Where the stream is. llhttp frames Content-Length bodies and chunk data; the lines around
  // them are ours.
  enum class Phase : uint8_t {
    fields,      // between requests, the request line and header lines, or trailer lines
    body,        // after the head: a Content-Length body or none, framed by llhttp
    chunk_line,  // a chunk-size line (ChunkLine)
    chunk_data,  // chunk data, framed by llhttp (on_body)
    chunk_crlf,  // the CRLF after chunk data
  };
  // Where the fields lexer is within a line.
  enum class Lex : uint8_t {
    idle, idle_lf,        // between requests: empty lines are skipped (RFC 9112 2.2)
    method, target, version, request_lf,
    line_start, name, before_value, value, field_lf, end_lf,
  };
  enum class Header : uint8_t { other, content_type, content_encoding, expect, transfer_encoding, host, authorization };

  // One feed() call's bytes: p the next byte to read, end one past the last, seg the first byte
  // not yet given to llhttp (or withheld), ws_start where a whitespace run in a value begins.
  struct Feed {
    const char* p;
    const char* end;
    const char* seg;
    const char* ws_start;
  };

  int fail(ParseError e, const char* reason) noexcept;  // from a callback
  Event fail_now(ParseError e, const char* reason) noexcept;
  void begin_request() noexcept;
  Event exec_real(const char* from, const char* to, const char*& stop) noexcept;
  Event exec_made(const char* bytes, size_t n) noexcept;
  Event flush_to(Feed& f, const char* to) noexcept;

  // fields.cpp: the request line, header and trailer lines.
  Event lex_fields(Feed& f) noexcept;
  bool lex_run(Feed& f) noexcept;
  Event lex_byte(Feed& f) noexcept;
  Event lex_method_byte(Feed& f) noexcept;
  Event end_method(Feed& f) noexcept;
  Event start_field(char c) noexcept;
  Event value_byte(Feed& f) noexcept;
  Event end_fields(Feed& f) noexcept;
  Event end_feed_in_fields(Feed& f) noexcept;
  // parser.cpp: the few fields we act on.
  void end_name() noexcept;
  void capture_value(char c) noexcept;
  Event end_field() noexcept;

  // parser.cpp: the chunked framing.
  Event read_chunk_line(Feed& f) noexcept;
  Event read_chunk_data(Feed& f) noexcept;
  Event read_chunk_crlf(Feed& f) noexcept;

  // Pointers first, then wider fields, then bytes: the parser is in every connection slot.
  const Limits* limits_ = nullptr;
  char* staging_ = nullptr;
  char* target_buf_ = nullptr;
  char* credentials_ = nullptr;  // kCredentialsBytes, or nullptr: Authorization is not read
  const char* body_ = nullptr;
  const char* reason_ = nullptr;  // why, for errors found here rather than by llhttp
  llhttp_t llhttp_{};
  RequestHead head_{};
  ChunkLine chunk_line_;
  uint64_t chunk_remaining_ = 0;
  uint32_t body_bytes_ = 0;
  uint32_t head_bytes_ = 0;
  uint32_t header_count_ = 0;
  // A run of spaces and tabs inside a field value: withheld from llhttp until the next byte
  // says whether it is inside the value (given as it came, or as spaces when it began in an
  // earlier feed) or trailing (dropped).
  uint32_t ws_run_ = 0;
  uint32_t ws_carry_ = 0;  // bytes of the run that were in earlier feeds
  uint16_t target_len_ = 0;
  uint16_t credentials_len_ = 0;  // up to kCredentialsBytes + 1 (then too long)
  HostSyntax host_;
  bool body_in_staging_ = false;
  bool discard_body_ = false;
  bool keep_alive_ = true;
  bool in_request_ = false;
  bool in_trailers_ = false;
  bool host_invalid_ = false;
  Phase phase_ = Phase::fields;
  Lex lex_ = Lex::idle;
  Event pending_ = Event::need_more;
  ParseError error_ = ParseError::none;
  Header header_ = Header::other;
  uint8_t method_len_ = 0;
  uint8_t name_len_ = 0;
  uint8_t value_len_ = 0;
  uint8_t host_count_ = 0;
  uint8_t te_count_ = 0;
  uint8_t authorization_count_ = 0;
  uint8_t ce_count_ = 0;  // Content-Encoding fields seen
  uint8_t crlf_seen_ = 0;  // bytes of the CRLF after chunk data seen so far
  char method_[7] = {};    // the longest method we know is 7 bytes
  char name_[17] = {};     // the longest name we act on is "transfer-encoding"
  char value_[48] = {};
};

}  // namespace busyring::http
