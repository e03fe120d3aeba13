// Every error the API answers with: status, stable code and a human message, rendered as
// {"error":"<code>","message":"<text>"}. One table (BR_API_ERRORS) makes the enumerators, the
// answers and the counter labels, so they cannot drift apart.
#pragma once

#include <cstdint>
#include <string_view>

namespace busyring::api {

// The one table of errors: X(id, status, code, message, extra headers, closes).
// `id` is the enumerator and the label of its rejection counter (busyring_rejections_total
// {reason="id"}); `code` is the JSON "error" (several ids share invalid_usage or
// method_not_allowed); extra headers are whole lines; `closes`: the connection closes after
// the answer (framing lost or unknown).
// A busy log (buffers full while the disk catches up) is no error: the request is held.
#define BR_API_ERRORS(X)                                                                                  \
  X(malformed_http, 400, "malformed_http", "the request is not valid HTTP/1.1", "", true)                 \
  X(bad_json, 400, "bad_json", "the body is not valid JSON", "", false)                                   \
  X(not_object, 422, "invalid_usage", "the body must be a JSON object", "", false)                        \
  X(missing_patient_id, 422, "invalid_usage", "patientId is required", "", false)                         \
  X(bad_patient_id, 422, "invalid_usage", "patientId must be a string or an integer", "", false)         \
  X(missing_timestamp, 422, "invalid_usage", "timestamp is required", "", false)                          \
  X(bad_timestamp, 422, "invalid_usage", "timestamp must be a string", "", false)                         \
  X(missing_medication, 422, "invalid_usage", "medication is required", "", false)                        \
  X(bad_medication, 422, "invalid_usage", "medication must be a string", "", false)                       \
  X(not_found, 404, "not_found",                                                                          \
    "no such resource; POST /api/usages, GET /healthz, GET /metrics, GET /status", "", false)             \
  X(method_not_allowed_post, 405, "method_not_allowed", "use POST", "Allow: POST\r\n", false)              \
  X(method_not_allowed_get, 405, "method_not_allowed", "use GET", "Allow: GET, HEAD\r\n", false)          \
  X(request_timeout, 408, "request_timeout", "the request was not complete in time", "", true)           \
  X(length_required, 411, "length_required", "a POST needs Content-Length or chunked Transfer-Encoding", \
    "", false)                                                                                            \
  X(body_too_large, 413, "body_too_large", "the body is larger than --max-body", "", true)                \
  X(target_too_long, 414, "target_too_long", "the request target is too long", "", true)                 \
  X(unsupported_media_type, 415, "unsupported_media_type", "Content-Type must be application/json", "",  \
    false)                                                                                                \
  X(expectation_failed, 417, "expectation_failed", "only Expect: 100-continue is supported", "", true)   \
  X(head_too_large, 431, "headers_too_large", "the request head is over the limit", "", true)            \
  X(storage_unavailable, 503, "storage_unavailable",                                                      \
    "the log cannot take writes now; the record was not stored", "Retry-After: 1\r\n", false)            \
  X(id_source_unavailable, 503, "id_source_unavailable",                                                  \
    "no id can be issued now (the shared id source); the record was not stored", "Retry-After: 1\r\n",   \
    false)                                                                                                \
  X(version_not_supported, 505, "http_version_not_supported", "use HTTP/1.1 or HTTP/1.0", "", true)    \
  /* A method busyring does not know (RFC 9110 9.1): the framing is intact, the connection stays. */    \
  X(not_implemented, 501, "not_implemented",                                                              \
    "unknown method; POST /api/usages, GET /healthz, GET /metrics, GET /status", "", false)

enum class ErrorId : uint8_t {
#define BR_ERROR_ENUMERATOR(id, ...) id,
  BR_API_ERRORS(BR_ERROR_ENUMERATOR)
#undef BR_ERROR_ENUMERATOR
  count,
};

struct ErrorInfo {
  uint16_t status;
  std::string_view body;     // the JSON body
  std::string_view headers;  // extra header lines (Allow, Retry-After), or empty
  bool close;                // the connection closes after it (framing lost or unknown)
};

const ErrorInfo& error_info(ErrorId id) noexcept;

// A label per ErrorId for the rejection counters: the enumerator's name ("bad_json", ...).
const char* const* error_reason_names() noexcept;

}  // namespace busyring::api
