// 422 for JSON that is valid but not a usage: each required field missing or mistyped, a body
// that is not an object. Extra fields are accepted and kept byte-for-byte. Nothing answered
// with an error is on disk: the log holds exactly the records that got 201.
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

struct Case {
  const char* body;
  const char* field;  // named in the message; nullptr for "must be a JSON object"
};

const Case kInvalid[] = {
    {R"({"timestamp":"t","medication":"m"})", "patientId"},
    {R"({"patientId":"1","medication":"m"})", "timestamp"},
    {R"({"patientId":"1","timestamp":"t"})", "medication"},
    {R"({"patientId":1.5,"timestamp":"t","medication":"m"})", "patientId"},
    {R"({"patientId":1e3,"timestamp":"t","medication":"m"})", "patientId"},
    {R"({"patientId":true,"timestamp":"t","medication":"m"})", "patientId"},
    {R"({"patientId":null,"timestamp":"t","medication":"m"})", "patientId"},
    {R"({"patientId":{"v":1},"timestamp":"t","medication":"m"})", "patientId"},
    {R"({"patientId":["1"],"timestamp":"t","medication":"m"})", "patientId"},
    {R"({"patientId":"1","timestamp":1478009511,"medication":"m"})", "timestamp"},
    {R"({"patientId":"1","timestamp":null,"medication":"m"})", "timestamp"},
    {R"({"patientId":"1","timestamp":"t","medication":7})", "medication"},
    {R"({"patientId":"1","timestamp":"t","medication":["Albuterol"]})", "medication"},
    {R"({"patientId":"1","timestamp":"t","medication":false})", "medication"},
    {R"([{"patientId":"1","timestamp":"t","medication":"m"},7])", "batch"},  // a batch, record 1 not an object
    {R"("a string")", nullptr},
    {R"(42)", nullptr},
    {R"({})", "patientId"},
};

const char* const kValid[] = {
    R"j({"patientId":"100","timestamp":"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)","medication":"Albuterol"})j",
    R"({"patientId":100,"timestamp":"t","medication":"m"})",
    R"({"patientId":-7,"timestamp":"t","medication":"m"})",
    R"({"patientId":18446744073709551615,"timestamp":"t","medication":"m"})",
    R"({"medication":"m","timestamp":"t","patientId":"reordered"})",
    R"({"patientId":"1","timestamp":"t","medication":"m","dose":2,"extra":{"nested":[1,2,{"x":null}]}})",
    "{ \"patientId\" : \"spaced\" ,\n\t\"timestamp\":\"t\", \"medication\":\"m\" }",
    R"({"patientId":"\u00e9\"quoted\"","timestamp":"t","medication":"Salbutamol \ud83d\ude00"})",
};

}  // namespace

TEST_CASE("JSON that is not a valid usage gets 422 naming the field", "[blackbox]") {
  TestServer s;
  Client c(s.port());
  for (const Case& k : kInvalid) {
    INFO("body: " << k.body);
    const std::string message = check_error(roundtrip(c, post_request(k.body)), 422, "invalid_usage");
    if (k.field != nullptr) CHECK(message.find(k.field) != std::string::npos);
    else CHECK(message.find("object") != std::string::npos);
  }
  // The connection is still in step after every 422.
  const Response r = roundtrip(c, post_request(usage_body("after-422")));
  CHECK(r.status == 201);
}

TEST_CASE("valid usages, extra fields included, are stored exactly as sent", "[blackbox]") {
  TestServer s;
  std::map<uint64_t, std::string> sent;
  {
    Client c(s.port());
    for (const char* body : kValid) {
      INFO("body: " << body);
      const Response r = roundtrip(c, post_request(body));
      CHECK(r.status == 201);
      const uint64_t id = id_of(r);
      REQUIRE(id > 0);
      CHECK(sent.emplace(id, body).second);
    }
  }
  CHECK(stop_and_read(s) == sent);
}

TEST_CASE("requests answered with an error leave no record", "[blackbox]") {
  TestServer s({"--max-body", "1K"});
  std::map<uint64_t, std::string> sent;
  {
    Client c(s.port());
    for (int i = 0; i < 3; ++i) {
      for (const Case& k : kInvalid) CHECK(roundtrip(c, post_request(k.body)).status == 422);
      CHECK(roundtrip(c, post_request("{bad json")).status == 400);
      CHECK(roundtrip(c, get_request("/api/usages")).status == 405);
      const std::string body = usage_body("kept-" + std::to_string(i));
      const Response r = roundtrip(c, post_request(body));
      REQUIRE(r.status == 201);
      sent.emplace(id_of(r), body);
    }
    Client big(s.port());
    CHECK(roundtrip(big, post_request(usage_body(std::string(2000, 'z')))).status == 413);
  }
  const ExitStatus st = s.server->stop();
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  std::map<uint64_t, std::string> stored;
  for (const auto& rec : read_records(s.dir.path())) stored.emplace(rec.id, rec.body);
  CHECK(stored == sent);
}
