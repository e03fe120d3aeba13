// simdjson DOM reads of stored bodies; see body.h. simdjson only via .get() (no exceptions).
#include "body.h"

#include <charconv>
#include <cstring>
#include <string_view>

namespace busyring::logtool {
namespace {

void string_field(simdjson::dom::object& obj, const char* key, std::string& out) {
  out.clear();
  std::string_view v;
  if (obj[key].get(v) == simdjson::SUCCESS) out.assign(v);
}

}  // namespace

bool BodyParser::parse(const uint8_t* body, size_t bytes, simdjson::dom::object& out) {
  if (padded_.size() < bytes + simdjson::SIMDJSON_PADDING) padded_.resize(bytes + simdjson::SIMDJSON_PADDING);
  if (bytes > 0) std::memcpy(padded_.data(), body, bytes);
  std::memset(padded_.data() + bytes, 0, simdjson::SIMDJSON_PADDING);
  simdjson::dom::element doc;
  if (parser_.parse(padded_.data(), bytes, false).get(doc) != simdjson::SUCCESS) return false;
  return doc.get(out) == simdjson::SUCCESS;
}

bool BodyParser::is_object(const uint8_t* body, size_t bytes) {
  simdjson::dom::object obj;
  return parse(body, bytes, obj);
}

bool BodyParser::usage_fields(const uint8_t* body, size_t bytes, UsageFields& out) {
  simdjson::dom::object obj;
  if (!parse(body, bytes, obj)) return false;
  string_field(obj, "timestamp", out.timestamp);
  string_field(obj, "medication", out.medication);
  out.patient_id.clear();
  simdjson::dom::element pid;
  if (obj["patientId"].get(pid) != simdjson::SUCCESS) return true;
  std::string_view s;
  int64_t i = 0;
  uint64_t u = 0;
  if (pid.get(s) == simdjson::SUCCESS) {
    out.patient_id.assign(s);
  } else if (pid.get(i) == simdjson::SUCCESS) {
    out.patient_id = std::to_string(i);
  } else if (pid.get(u) == simdjson::SUCCESS) {
    out.patient_id = std::to_string(u);
  }
  return true;
}

}  // namespace busyring::logtool
