// Stateless HTTP/1.x response parsing over contiguous bytes: the head (status line and
// headers, CRLF only) and the busyring 201 body `{"id":N}`. Never reads past `len`.
// What is not supported (chunked replies, bodies delimited by close) is malformed, by design:
// the server under test always sends Content-Length.
#pragma once

#include <cstddef>
#include <cstdint>

namespace busyring::load {

enum class HeadStatus : uint8_t { incomplete, complete, malformed };

struct Head {
  HeadStatus status = HeadStatus::incomplete;
  uint16_t code = 0;
  bool close = false;         // Connection: close, or HTTP/1.0 without keep-alive
  uint32_t head_bytes = 0;    // status line + headers + the empty line
  uint64_t body_bytes = 0;    // from Content-Length (0 for 1xx, 204, 304)
};

// Parses the response head at the start of data[0, len).
[[nodiscard]] Head parse_head(const char* data, size_t len) noexcept;

// Parses `{"id":N}` (*count = 1) or a batch's `{"first_id":N,"count":K}` (whitespace allowed
// between tokens) into *id and *count; false if it is anything else.
[[nodiscard]] bool parse_id_body(const char* data, size_t len, uint64_t* id, uint64_t* count) noexcept;

}  // namespace busyring::load
