// Reading stored bodies with simdjson's DOM parser (full validation, as the server does): is a
// body a JSON object, and its usage fields for CSV. Each body is copied into one reusable
// buffer with SIMDJSON_PADDING slack, so the parser never reads past the mapped record.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <vector>

#include "format.h"

namespace busyring::logtool {

class BodyParser {
 public:
  // True when body parses as a JSON object.
  [[nodiscard]] bool is_object(const uint8_t* body, size_t bytes);
  // The usage fields of a JSON object body (missing or mistyped fields are empty); false when
  // the body is not a JSON object.
  [[nodiscard]] bool usage_fields(const uint8_t* body, size_t bytes, UsageFields& out);

 private:
  bool parse(const uint8_t* body, size_t bytes, simdjson::dom::object& out);

  simdjson::dom::parser parser_;
  std::vector<uint8_t> padded_;
};

}  // namespace busyring::logtool
