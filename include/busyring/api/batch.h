// A batch of usages in one request body (issue 20): a JSON array of usages, or NDJSON (one
// usage per line). The body is validated as a whole: records are found, each is validated
// like a single usage, and the first failure is answered with its index; nothing is stored
// unless every record is valid. The records' spans point into the body: each record stores
// its own bytes as received (decompressed), so the log holds one record per usage.
//
// The spans' room (--max-batch entries) is allocated once at start: no allocation per request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "busyring/api/errors.h"
#include "busyring/api/usage_validator.h"
#include "busyring/http/request.h"

namespace busyring::api {

// How a usages body is framed.
enum class BodyForm : uint8_t {
  single,  // one JSON object: 201 {"id":N}
  array,   // a JSON array of objects: 201 {"first_id":N,"count":K}
  lines,   // NDJSON: one object per line, blank lines skipped; answered like an array
};

// The form a body is read in: NDJSON when its Content-Type says so; an array when its first
// non-blank byte is '['; otherwise a single usage (the handler reads a single body of several
// JSON lines as NDJSON too: Fluent Bit before 3.0 sent json_lines as application/json).
BodyForm body_form(http::ContentType type, std::string_view body) noexcept;

// Whether a body that failed as a single usage holds more than one line of content.
bool has_several_lines(std::string_view body) noexcept;

struct RecordSpan {
  uint32_t offset;
  uint32_t bytes;
};

struct BatchError {
  ErrorId error;
  std::optional<uint32_t> index;  // the record at fault, when one is
};

class BatchReader {
 public:
  [[nodiscard]] bool init(uint32_t max_batch) noexcept;

  // Finds and validates the records of `body` (array or lines). body must be followed by
  // simdjson::SIMDJSON_PADDING readable bytes. On success, spans() and count() describe them
  // until the next call.
  std::optional<BatchError> read(BodyForm form, std::string_view body, UsageValidator& validator) noexcept;

  const RecordSpan* spans() const noexcept { return spans_.get(); }
  uint32_t count() const noexcept { return count_; }
  // The log bytes the records take (each a header, its body and padding).
  size_t record_bytes() const noexcept { return record_bytes_; }

 private:
  std::optional<BatchError> split_array(std::string_view body) noexcept;
  std::optional<BatchError> split_lines(std::string_view body) noexcept;
  bool add(size_t offset, size_t bytes) noexcept;

  std::unique_ptr<RecordSpan[]> spans_;
  uint32_t max_batch_ = 0;
  uint32_t count_ = 0;
  size_t record_bytes_ = 0;
};

}  // namespace busyring::api
