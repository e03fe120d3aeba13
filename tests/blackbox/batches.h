// Batches for the black-box tests (issue 20): bodies framed as Vector's http sink and Fluent
// Bit's http output frame them (a JSON array, NDJSON), gzip through zlib, requests with exactly
// the headers a tool sends, and the 201 {"first_id":N,"count":K} read back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../support/gzip.h"
#include "harness.h"

namespace blackbox {

// K usage bodies tagged tag-0 .. tag-(K-1).
std::vector<std::string> usage_bodies(const std::string& tag, int count);
// [r0,r1,...] and r0\nr1\n...\n (NDJSON, a newline after every record as both tools send it).
std::string json_array(const std::vector<std::string>& records);
std::string ndjson(const std::vector<std::string>& records);
// One gzip member (RFC 1952) made by zlib (tests/support/gzip.h, shared with the unit tests).
using busyring::test::gzipped;

// POST /api/usages with `headers` (whole lines, each ending in CRLF) and Content-Length.
std::string post_with_headers(std::string_view body, std::string_view headers);

struct BatchAck {
  uint64_t first_id = 0;
  uint64_t count = 0;
};
// The 201 body {"first_id":N,"count":K}; {0,0} if the body is not exactly that.
BatchAck batch_ack(const Response& r);
// The "index" of a batch error body, or -1 when it has none.
int64_t error_index(const Response& r);

}  // namespace blackbox
