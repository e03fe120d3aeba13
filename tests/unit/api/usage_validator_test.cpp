// api/usage_validator: the table of usage bodies (valid, each field missing, each field
// mistyped, not an object, invalid JSON), and proof that only `bytes` are read even when the
// SIMDJSON_PADDING bytes after the body hold text that would change the verdict.
#include "busyring/api/usage_validator.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

using busyring::api::ErrorId;
using busyring::api::UsageValidator;

namespace {

// The body followed by SIMDJSON_PADDING bytes of `pad`.
std::optional<ErrorId> check(UsageValidator& v, const std::string& body, char pad = ' ') {
  std::vector<char> buf(body.size() + simdjson::SIMDJSON_PADDING, pad);
  std::memcpy(buf.data(), body.data(), body.size());
  return v.validate(buf.data(), body.size());
}

const std::string kValid =
    R"j({"patientId":"100","timestamp":"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)","medication":"Albuterol"})j";

std::string with(const std::string& patient, const std::string& timestamp, const std::string& medication) {
  std::string s = "{";
  const auto add = [&s](const char* k, const std::string& v) {
    if (v.empty()) return;
    if (s.size() > 1) s += ",";
    s += "\"" + std::string(k) + "\":" + v;
  };
  add("patientId", patient);
  add("timestamp", timestamp);
  add("medication", medication);
  return s + "}";
}

struct Row {
  const char* name;
  std::string body;
  std::optional<ErrorId> want;
};

std::vector<Row> rows() {
  const std::string p = "\"100\"", t = "\"Tue Nov 01 2016\"", m = "\"Albuterol\"";
  return {
      {"valid", kValid, std::nullopt},
      {"patientId integer", with("100", t, m), std::nullopt},
      {"patientId negative integer", with("-5", t, m), std::nullopt},
      {"patientId past int64", with("18446744073709551615", t, m), std::nullopt},
      {"extra fields kept", R"({"x":[1,{"y":null}],"patientId":"1","timestamp":"t","medication":"m","z":1.5})",
       std::nullopt},
      {"whitespace around", " \n\t" + kValid + "\r\n ", std::nullopt},
      {"unicode escapes", with(p, "\"\\u00e9t\\u00e9\"", "\"\\ud83d\\ude00\""), std::nullopt},
      {"patientId missing", with("", t, m), ErrorId::missing_patient_id},
      {"timestamp missing", with(p, "", m), ErrorId::missing_timestamp},
      {"medication missing", with(p, t, ""), ErrorId::missing_medication},
      {"all missing", "{}", ErrorId::missing_patient_id},
      {"patientId float", with("1.5", t, m), ErrorId::bad_patient_id},
      {"patientId exponent", with("1e3", t, m), ErrorId::bad_patient_id},
      {"patientId bool", with("true", t, m), ErrorId::bad_patient_id},
      {"patientId null", with("null", t, m), ErrorId::bad_patient_id},
      {"patientId object", with("{\"id\":1}", t, m), ErrorId::bad_patient_id},
      {"patientId array", with("[1]", t, m), ErrorId::bad_patient_id},
      {"timestamp number", with(p, "1478009511", m), ErrorId::bad_timestamp},
      {"timestamp null", with(p, "null", m), ErrorId::bad_timestamp},
      {"medication array", with(p, t, "[\"Albuterol\"]"), ErrorId::bad_medication},
      {"medication number", with(p, t, "3"), ErrorId::bad_medication},
      {"field names are case-sensitive", R"({"patientid":"1","timestamp":"t","medication":"m"})",
       ErrorId::missing_patient_id},
      {"array", "[" + kValid + "]", ErrorId::not_object},
      {"string", "\"hello\"", ErrorId::not_object},
      {"number", "42", ErrorId::not_object},
      {"null", "null", ErrorId::not_object},
      {"empty body", "", ErrorId::bad_json},
      {"only whitespace", "   ", ErrorId::bad_json},
      {"unterminated object", "{\"patientId\":\"1\"", ErrorId::bad_json},
      {"trailing garbage", kValid + " x", ErrorId::bad_json},
      {"two documents", kValid + "{}", ErrorId::bad_json},
      {"trailing comma", R"({"patientId":"1","timestamp":"t","medication":"m",})", ErrorId::bad_json},
      {"single quotes", "{'patientId':'1'}", ErrorId::bad_json},
      {"bad escape", R"({"patientId":"\q","timestamp":"t","medication":"m"})", ErrorId::bad_json},
      {"control character in a string", std::string("{\"patientId\":\"a\x01\",\"timestamp\":\"t\",\"medication\":\"m\"}"),
       ErrorId::bad_json},
      {"invalid UTF-8", std::string("{\"patientId\":\"\xff\xfe\",\"timestamp\":\"t\",\"medication\":\"m\"}"),
       ErrorId::bad_json},
      {"bad literal", with("tru", "\"t\"", "\"m\""), ErrorId::bad_json},
      {"NaN", with("NaN", "\"t\"", "\"m\""), ErrorId::bad_json},
  };
}

}  // namespace

TEST_CASE("usage bodies are accepted or refused with the right error", "[api]") {
  UsageValidator v;
  REQUIRE(v.init(64 * 1024));
  for (const Row& r : rows()) {
    INFO("case: " << r.name << " body: " << r.body);
    const auto got = check(v, r.body);
    CHECK(got.has_value() == r.want.has_value());
    if (got && r.want) CHECK(static_cast<int>(*got) == static_cast<int>(*r.want));
  }
}

TEST_CASE("the validator reads only the body, never the padding after it", "[api]") {
  UsageValidator v;
  REQUIRE(v.init(64 * 1024));
  // Padding that would complete an unterminated body, or spoil a valid one.
  CHECK(check(v, "{\"patientId\":\"1\"", '}') == ErrorId::bad_json);
  CHECK(check(v, kValid.substr(0, kValid.size() - 1), '}') == ErrorId::bad_json);
  CHECK_FALSE(check(v, kValid, 'x').has_value());
  CHECK_FALSE(check(v, kValid, '\0').has_value());
  CHECK_FALSE(check(v, kValid, '"').has_value());
  // A pipelined next request right after the body does not count as trailing garbage.
  std::string two = kValid + "POST /api/usages HTTP/1.1\r\n" + std::string(64, ' ');
  CHECK_FALSE(v.validate(two.data(), kValid.size()).has_value());
}

TEST_CASE("one validator serves many bodies in a row", "[api]") {
  UsageValidator v;
  REQUIRE(v.init(4096));
  for (int i = 0; i < 1000; ++i) {
    REQUIRE_FALSE(check(v, kValid).has_value());
    REQUIRE(check(v, "{").value() == ErrorId::bad_json);
    REQUIRE(check(v, with("\"1\"", "2", "\"m\"")).value() == ErrorId::bad_timestamp);
  }
}

TEST_CASE("a body of exactly the allocated capacity is validated", "[api]") {
  UsageValidator v;
  REQUIRE(v.init(256));
  std::string body = R"({"patientId":"1","timestamp":"t","medication":"m","pad":")";
  body += std::string(256 - body.size() - 2, 'p') + "\"}";
  REQUIRE(body.size() == 256);
  CHECK_FALSE(check(v, body).has_value());
  body[255] = ']';
  CHECK(check(v, body) == ErrorId::bad_json);
}
