// Unit tests of busyring-log's text formats: RFC 4180 CSV fields, the exact JSONL line, CSV
// rows with the usage fields read by simdjson (string and integer patientId), JSON string
// escaping, ISO 8601 times with nanoseconds, and dump's one-line bodies.
#include <catch2/catch.hpp>
#include <string>

#include "../../../tools/log/body.h"
#include "../../../tools/log/format.h"

using namespace busyring::logtool;

namespace {

std::string csv(std::string_view s) {
  std::string out;
  append_csv_field(out, s);
  return out;
}

std::string printable(std::string_view s, size_t max) {
  std::string out;
  append_printable(out, s, max);
  return out;
}

UsageFields fields_of(const std::string& body) {
  BodyParser parser;
  UsageFields f;
  REQUIRE(parser.usage_fields(reinterpret_cast<const uint8_t*>(body.data()), body.size(), f));
  return f;
}

}  // namespace

TEST_CASE("CSV fields are quoted only when RFC 4180 needs it, quotes doubled", "[logtool]") {
  const struct {
    const char* in;
    const char* out;
  } cases[] = {
      {"", ""},
      {"plain", "plain"},
      {"with space", "with space"},
      {"a,b", "\"a,b\""},
      {"say \"hi\"", "\"say \"\"hi\"\"\""},
      {"\"", "\"\"\"\""},
      {"line\nbreak", "\"line\nbreak\""},
      {"cr\rhere", "\"cr\rhere\""},
      {"{\"k\":1}", "\"{\"\"k\"\":1}\""},
      {"tab\there", "tab\there"},
  };
  for (const auto& c : cases) {
    INFO("field: " << c.in);
    CHECK(csv(c.in) == c.out);
  }
}

TEST_CASE("a JSONL line is exactly id, shard, arrival_ns and the body verbatim", "[logtool]") {
  std::string out;
  append_jsonl_line(out, 22954, 3, 1478009511000000001ull, R"({"patientId":"100","medication":"Albuterol"})");
  CHECK(out ==
        R"({"id":22954,"shard":3,"arrival_ns":1478009511000000001,"body":{"patientId":"100","medication":"Albuterol"}})"
        "\n");
  out.clear();
  append_jsonl_line(out, 18446744073709551615ull, 0, 0, "{}");
  CHECK(out == "{\"id\":18446744073709551615,\"shard\":0,\"arrival_ns\":0,\"body\":{}}\n");
}

TEST_CASE("JSONL keeps one record per line: CR and LF whitespace in a body become spaces", "[logtool]") {
  std::string out = "prefix\n";
  append_jsonl_line(out, 1, 0, 5, "{\r\n  \"a\": \"x\\ny\"\n}");
  CHECK(out == "prefix\n{\"id\":1,\"shard\":0,\"arrival_ns\":5,\"body\":{    \"a\": \"x\\ny\" }}\n");
}

TEST_CASE("a CSV row has the usage fields, a string or integer patientId, and the quoted body", "[logtool]") {
  const std::string body =
      R"json({"patientId":"100","timestamp":"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)","medication":"Albu, \"terol\""})json";
  std::string out;
  append_csv_line(out, 7, 1, 99, fields_of(body), body);
  CHECK(out ==
        "7,1,99,100,Tue Nov 01 2016 09:11:51 GMT-0500 (CDT),\"Albu, \"\"terol\"\"\","
        "\"{\"\"patientId\"\":\"\"100\"\",\"\"timestamp\"\":\"\"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)\"\","
        "\"\"medication\"\":\"\"Albu, \\\"\"terol\\\"\"\"\"}\"\n");
  CHECK(fields_of(R"({"patientId":42,"timestamp":"t","medication":"m"})").patient_id == "42");
  CHECK(fields_of(R"({"patientId":-7,"timestamp":"t","medication":"m"})").patient_id == "-7");
  CHECK(fields_of(R"({"patientId":18446744073709551615,"timestamp":"t","medication":"m"})").patient_id ==
        "18446744073709551615");
  const UsageFields missing = fields_of(R"({"extra":true})");
  CHECK(missing.patient_id.empty());
  CHECK(missing.timestamp.empty());
  CHECK(missing.medication.empty());
  CHECK(std::string(kCsvHeader) == "id,shard,arrival_ns,patient_id,timestamp,medication,body\n");
}

TEST_CASE("bodies that are not JSON objects are told apart", "[logtool]") {
  BodyParser parser;
  for (const std::string bad : {"", "[]", "42", "{", "{\"a\":}", "not json", "{} x"}) {
    INFO("body: " << bad);
    CHECK_FALSE(parser.is_object(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()));
  }
  const std::string good = R"({"a":[1,2,{"b":null}]})";
  CHECK(parser.is_object(reinterpret_cast<const uint8_t*>(good.data()), good.size()));
  const std::string big = "{\"k\":\"" + std::string(200000, 'x') + "\"}";
  CHECK(parser.is_object(reinterpret_cast<const uint8_t*>(big.data()), big.size()));
}

TEST_CASE("JSON strings escape quotes, backslashes and control bytes", "[logtool]") {
  std::string out;
  append_json_string(out, std::string("a\"b\\c\n\x01/é", 10));
  CHECK(out == "\"a\\\"b\\\\c\\n\\u0001/é\"");
}

TEST_CASE("arrival times print as ISO 8601 UTC with nanoseconds", "[logtool]") {
  CHECK(iso8601_ns(0) == "1970-01-01T00:00:00.000000000Z");
  CHECK(iso8601_ns(1478009511123456789ull) == "2016-11-01T14:11:51.123456789Z");
  CHECK(iso8601_ns(1ull) == "1970-01-01T00:00:00.000000001Z");
}

TEST_CASE("dump bodies stay on one line and are cut without splitting a UTF-8 character", "[logtool]") {
  CHECK(printable("plain {\"a\":1}", 200) == "plain {\"a\":1}");
  CHECK(printable(std::string("a\nb\tc\\d\x01\x7f", 9), 200) == "a\\nb\\tc\\\\d\\x01\\x7f");
  CHECK(printable(std::string(300, 'x'), 200) == std::string(200, 'x') + "...");
  // "é" is two bytes: a cut between them drops the whole character.
  CHECK(printable("abcé", 4) == "abc...");
  CHECK(printable("abcé", 5) == "abcé");
  CHECK(printable("abcéz", 5) == "abcé...");
  CHECK(printable("ab€", 4) == "ab...");  // € is three bytes
}
