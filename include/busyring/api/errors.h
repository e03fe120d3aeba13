// Every error the API answers with: status, stable code and a human message, rendered as
// {"error":"<code>","message":"<text>"}. One table, so codes and texts live in one place.
#pragma once

#include <cstdint>
#include <string_view>

namespace busyring::api {

enum class ErrorId : uint8_t {
  malformed_http,
  bad_json,
  not_object,
  missing_patient_id,
  bad_patient_id,
  missing_timestamp,
  bad_timestamp,
  missing_medication,
  bad_medication,
  not_found,
  method_not_allowed_post,
  method_not_allowed_get,
  request_timeout,
  length_required,
  body_too_large,
  target_too_long,
  unsupported_media_type,
  expectation_failed,
  head_too_large,
  storage_unavailable,
  storage_busy,
  id_source_unavailable,
  version_not_supported,
  not_implemented,
  count,
};

struct ErrorInfo {
  uint16_t status;
  std::string_view body;     // the JSON body
  std::string_view headers;  // extra header lines (Allow, Retry-After), or empty
  bool close;                // the connection closes after it (framing lost or unknown)
};

const ErrorInfo& error_info(ErrorId id) noexcept;

// A label per ErrorId for the rejection counters ("bad_json", "missing_patient_id", ...).
const char* const* error_reason_names() noexcept;

}  // namespace busyring::api
