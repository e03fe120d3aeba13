// What the parser tells about one request: method, target, the few headers we act on, and the
// framing facts. A view: strings point into the connection's parser state.
#pragma once

#include <cstdint>
#include <string_view>

#include "busyring/http/bearer.h"

namespace busyring::http {

// other: a method of RFC 9110 or 5789 that busyring does not serve (405 with Allow);
// unknown: any other well-formed token (FOO, QUERY): 501, and the connection stays.
enum class Method : uint8_t { get, head, post, other, unknown };

// ndjson: one JSON value per line (application/x-ndjson, application/jsonlines,
// application/json-lines, application/x-jsonlines), the framing of a batch of usages.
enum class ContentType : uint8_t { none, json, ndjson, other };

// Content-Encoding of the body: none/identity, gzip (or x-gzip), or anything else (415).
enum class ContentEncoding : uint8_t { identity, gzip, other };

struct RequestHead {
  Method method = Method::other;
  std::string_view target;      // request-target as received: origin-form or absolute-form
  ContentType content_type = ContentType::none;
  ContentEncoding content_encoding = ContentEncoding::identity;
  bool expect_continue = false;  // Expect: 100-continue
  bool expect_unknown = false;   // an Expect we do not support (417)
  bool has_length = false;       // Content-Length or chunked framing present
  bool chunked = false;
  uint64_t content_length = 0;   // when has_length && !chunked
  uint8_t version_minor = 1;     // HTTP/1.x
  // The Authorization field, read as bearer credentials (none when absent; malformed when
  // repeated or too long). The token points into the parser's credentials buffer.
  Bearer credentials;
};

}  // namespace busyring::http
