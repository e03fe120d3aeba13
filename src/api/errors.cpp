// The error table.
#include "busyring/api/errors.h"

#include "busyring/base/assert.h"

namespace busyring::api {
namespace {

#define BR_ERR(status, code, message, headers, close) \
  ErrorInfo { status, "{\"error\":\"" code "\",\"message\":\"" message "\"}", headers, close }

constexpr ErrorInfo kErrors[] = {
    BR_ERR(400, "malformed_http", "the request is not valid HTTP/1.1", "", true),
    BR_ERR(400, "bad_json", "the body is not valid JSON", "", false),
    BR_ERR(422, "invalid_usage", "the body must be a JSON object", "", false),
    BR_ERR(422, "invalid_usage", "patientId is required", "", false),
    BR_ERR(422, "invalid_usage", "patientId must be a string or an integer", "", false),
    BR_ERR(422, "invalid_usage", "timestamp is required", "", false),
    BR_ERR(422, "invalid_usage", "timestamp must be a string", "", false),
    BR_ERR(422, "invalid_usage", "medication is required", "", false),
    BR_ERR(422, "invalid_usage", "medication must be a string", "", false),
    BR_ERR(404, "not_found", "no such resource; POST /api/usages, GET /healthz, GET /metrics, GET /status", "", false),
    BR_ERR(405, "method_not_allowed", "use POST", "Allow: POST\r\n", false),
    BR_ERR(405, "method_not_allowed", "use GET", "Allow: GET, HEAD\r\n", false),
    BR_ERR(408, "request_timeout", "the request was not complete in time", "", true),
    BR_ERR(411, "length_required", "a POST needs Content-Length or chunked Transfer-Encoding", "", false),
    BR_ERR(413, "body_too_large", "the body is larger than --max-body", "", true),
    BR_ERR(414, "target_too_long", "the request target is too long", "", true),
    BR_ERR(415, "unsupported_media_type", "Content-Type must be application/json", "", false),
    BR_ERR(417, "expectation_failed", "only Expect: 100-continue is supported", "", true),
    BR_ERR(431, "headers_too_large", "the request head is over the limit", "", true),
    BR_ERR(503, "storage_unavailable", "the log cannot take writes now; the record was not stored",
           "Retry-After: 1\r\n", false),
    BR_ERR(503, "storage_busy", "the log is saturated; the record was not stored",
           "Retry-After: 1\r\n", false),
    BR_ERR(503, "id_source_unavailable", "no id can be issued now (the shared id source); the record was not stored",
           "Retry-After: 1\r\n", false),
    BR_ERR(505, "http_version_not_supported", "use HTTP/1.1 or HTTP/1.0", "", true),
};
#undef BR_ERR

static_assert(sizeof(kErrors) / sizeof(kErrors[0]) == static_cast<size_t>(ErrorId::count));

}  // namespace

const char* const* error_reason_names() noexcept {
  static constexpr const char* kNames[] = {
      "malformed_http",    "bad_json",           "not_object",          "missing_patient_id",
      "bad_patient_id",    "missing_timestamp",  "bad_timestamp",       "missing_medication",
      "bad_medication",    "not_found",          "method_not_allowed",  "method_not_allowed_get",
      "request_timeout",   "length_required",    "body_too_large",      "target_too_long",
      "unsupported_media_type", "expectation_failed", "headers_too_large", "storage_unavailable",
      "storage_busy",      "id_source_unavailable", "http_version_not_supported",
  };
  static_assert(sizeof(kNames) / sizeof(kNames[0]) == static_cast<size_t>(ErrorId::count));
  return kNames;
}

const ErrorInfo& error_info(ErrorId id) noexcept {
  BR_ASSERT(id < ErrorId::count);
  return kErrors[static_cast<size_t>(id)];
}

}  // namespace busyring::api
