// Validation of a usage body with simdjson's DOM parser: the whole document is validated (DOM
// parses everything; On Demand would skip what it does not read), then the three required
// fields are type-checked. Capacity is allocated once at start: no allocation per request.
// The body must be followed by simdjson::SIMDJSON_PADDING readable bytes.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <optional>

#include "busyring/api/errors.h"

namespace busyring::api {

class UsageValidator {
 public:
  // False if the capacity could not be allocated.
  [[nodiscard]] bool init(size_t max_body) noexcept;
  // nullopt when the body is a valid usage; otherwise the error to answer with.
  std::optional<ErrorId> validate(const char* body, size_t bytes) noexcept;

 private:
  simdjson::dom::parser parser_;
};

}  // namespace busyring::api
