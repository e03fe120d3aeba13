// Usage validation: patientId string|integer, timestamp string, medication string; extra
// fields are kept (the record stores the body as received).
#include "busyring/api/usage_validator.h"

namespace busyring::api {

bool UsageValidator::init(size_t max_body) noexcept {
  return parser_.allocate(max_body) == simdjson::SUCCESS;
}

std::optional<ErrorId> UsageValidator::validate(const char* body, size_t bytes) noexcept {
  simdjson::dom::element doc;
  if (parser_.parse(body, bytes, false).get(doc) != simdjson::SUCCESS) return ErrorId::bad_json;
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return ErrorId::not_object;

  simdjson::dom::element field;
  if (obj["patientId"].get(field) != simdjson::SUCCESS) return ErrorId::missing_patient_id;
  const auto t = field.type();
  if (t != simdjson::dom::element_type::STRING && t != simdjson::dom::element_type::INT64 &&
      t != simdjson::dom::element_type::UINT64)
    return ErrorId::bad_patient_id;
  if (obj["timestamp"].get(field) != simdjson::SUCCESS) return ErrorId::missing_timestamp;
  if (!field.is_string()) return ErrorId::bad_timestamp;
  if (obj["medication"].get(field) != simdjson::SUCCESS) return ErrorId::missing_medication;
  if (!field.is_string()) return ErrorId::bad_medication;
  return std::nullopt;
}

}  // namespace busyring::api
