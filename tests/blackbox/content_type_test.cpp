// Issue 14: the body decides, not the Content-Type. The seeds' own tools post data.json as
// text/plain (ab, npm loadtest) and curl -d as a form; each must get its 201 and its record.
// --strict-content-type keeps the 415 for a declared non-JSON type.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "dial.h"
#include "harness.h"

using namespace blackbox;

namespace {

// The id of a {"id":N} body, or 0.
uint64_t id_in(const std::string& body) {
  if (body.rfind("{\"id\":", 0) != 0 || body.back() != '}') return 0;
  return std::strtoull(body.c_str() + 6, nullptr, 10);
}

}  // namespace

TEST_CASE("by default a valid usage is stored whatever its Content-Type says", "[blackbox]") {
  TestServer s;
  const std::vector<std::string> types = {
      "text/plain",                         // ab -p without -T, npm loadtest -P
      "application/x-www-form-urlencoded",  // curl -d
      "",                                   // none at all
      "application/json",
      "text/plain; charset=utf-8",
      "application/octet-stream",
      "multipart/form-data; boundary=x",
  };
  std::vector<std::pair<uint64_t, std::string>> stored;
  for (size_t i = 0; i < types.size(); ++i) {
    INFO("Content-Type: '" << types[i] << "'");
    const std::string body = usage_body("type-" + std::to_string(i));
    const Exchange x = exchange_at("127.0.0.1", s.port(), post_with_type(body, types[i]));
    INFO(x.error);
    CHECK(x.status == 201);
    const uint64_t id = id_in(x.body);
    CHECK(id > 0);
    stored.emplace_back(id, body);
  }
  // The body still decides: what is not a usage is refused whatever the type says.
  const Exchange form = exchange_at("127.0.0.1", s.port(),
                                    post_with_type("patientId=100&medication=Albuterol", "application/x-www-form-urlencoded"));
  CHECK(form.status == 400);
  CHECK(form.body.find("bad_json") != std::string::npos);
  const Exchange text = exchange_at("127.0.0.1", s.port(), post_with_type(R"({"patientId":"100"})", "text/plain"));
  CHECK(text.status == 422);

  const ExitStatus st = s.server->stop();
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  const auto records = read_records(s.dir.path());
  REQUIRE(records.size() == stored.size());
  for (const auto& [id, body] : stored) {
    INFO("id " << id);
    bool found = false;
    for (const StoredRecord& r : records) found = found || (r.id == id && r.body == body);
    CHECK(found);
  }
}

TEST_CASE("--strict-content-type answers 415 to a declared non-JSON type and stores none of them", "[blackbox]") {
  TestServer s({"--strict-content-type"});
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/octet-stream"}) {
    INFO("Content-Type: " << type);
    const Exchange x = exchange_at("127.0.0.1", s.port(), post_with_type(usage_body("refused"), type));
    CHECK(x.status == 415);
    CHECK(x.body.find("unsupported_media_type") != std::string::npos);
  }
  const std::string json_body = usage_body("json"), bare_body = usage_body("bare");
  CHECK(exchange_at("127.0.0.1", s.port(), post_with_type(json_body, "application/json")).status == 201);
  CHECK(exchange_at("127.0.0.1", s.port(), post_with_type(bare_body, "")).status == 201);
  const ExitStatus st = s.server->stop();
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  const auto records = read_records(s.dir.path());
  REQUIRE(records.size() == 2);
  CHECK(((records[0].body == json_body && records[1].body == bare_body) ||
         (records[0].body == bare_body && records[1].body == json_body)));
}
