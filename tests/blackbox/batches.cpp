// Batch bodies, gzip and the batch answers for the black-box tests.
#include "batches.h"

#include <simdjson.h>

#include <catch2/catch.hpp>

namespace blackbox {

std::vector<std::string> usage_bodies(const std::string& tag, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(usage_body(tag + "-" + std::to_string(i)));
  return out;
}

std::string json_array(const std::vector<std::string>& records) {
  std::string s = "[";
  for (size_t i = 0; i < records.size(); ++i) s += (i == 0 ? "" : ",") + records[i];
  return s + "]";
}

std::string ndjson(const std::vector<std::string>& records) {
  std::string s;
  for (const auto& r : records) s += r + "\n";
  return s;
}

std::string post_with_headers(std::string_view body, std::string_view headers) {
  std::string r = "POST /api/usages HTTP/1.1\r\n";
  r += headers;
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

BatchAck batch_ack(const Response& r) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(simdjson::padded_string(r.body)).get(obj) != simdjson::SUCCESS || obj.size() != 2) return {};
  BatchAck a;
  if (obj["first_id"].get(a.first_id) != simdjson::SUCCESS || obj["count"].get(a.count) != simdjson::SUCCESS) return {};
  return a;
}

int64_t error_index(const Response& r) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(simdjson::padded_string(r.body)).get(doc) != simdjson::SUCCESS) return -1;
  int64_t index = -1;
  if (doc["index"].get(index) != simdjson::SUCCESS) return -1;
  return index;
}

}  // namespace blackbox
