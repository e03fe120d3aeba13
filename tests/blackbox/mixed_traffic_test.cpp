// Seeded mixed traffic against a model: per connection, waves of pipelined requests of every
// kind (Content-Length and chunked POSTs of random sizes, 100-continue, 4xx of each sort, GETs),
// written in random splits. Each response must be the one the model predicts, in order, and
// the log must hold exactly the bodies that got 201.
#include <map>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace blackbox;

namespace {

struct Step {
  std::string bytes;
  int status = 0;
  std::string body;  // stored body when status is 201
};

std::string chunked(std::mt19937& rng, const std::string& body) {
  std::string out =
      "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::uniform_int_distribution<size_t> len(1, 700);
  for (size_t off = 0; off < body.size();) {
    const size_t n = std::min(len(rng), body.size() - off);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", n);
    out += size + body.substr(off, n) + "\r\n";
    off += n;
  }
  return out + "0\r\n\r\n";
}

Step make_step(std::mt19937& rng, int serial) {
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_int_distribution<size_t> pad(0, 3000);
  const std::string body = usage_body("mix-" + std::to_string(serial) + "-" + std::string(pad(rng), 'm'));
  switch (kind(rng)) {
    case 0:
    case 1:
    case 2: return {post_request(body), 201, body};
    case 3: return {chunked(rng, body), 201, body};
    case 4: return {post_request(body, "Expect: 100-continue\r\n"), 201, body};
    case 5: return {post_request(R"({"patientId":"1","timestamp":2,"medication":"m"})"), 422, ""};
    case 6: return {post_request("{\"patientId\":\"1\",\"timestamp\":\"t\""), 400, ""};
    case 7: return {get_request("/healthz"), 200, ""};
    case 8: return {get_request("/nope"), 404, ""};
    default: return {get_request("/api/usages"), 405, ""};
  }
}

}  // namespace

TEST_CASE("seeded mixed pipelined traffic gets the predicted responses and records", "[blackbox]") {
  TestServer s;
  std::mt19937 rng(22954);
  std::map<uint64_t, std::string> sent;
  int serial = 0;
  for (int conn = 0; conn < 6; ++conn) {
    Client c(s.port());
    REQUIRE(c.connected());
    for (int wave = 0; wave < 8; ++wave) {
      // Fewer requests per wave than a connection queues, so only the parsing is exercised.
      std::uniform_int_distribution<int> count(1, 30);
      std::vector<Step> steps;
      std::string bytes;
      for (int i = count(rng); i > 0; --i) {
        steps.push_back(make_step(rng, serial++));
        bytes += steps.back().bytes;
      }
      std::uniform_int_distribution<size_t> cut(1, 3000);
      for (size_t off = 0; off < bytes.size();) {
        const size_t n = std::min(cut(rng), bytes.size() - off);
        REQUIRE(c.send(std::string_view(bytes).substr(off, n)));
        off += n;
      }
      for (size_t i = 0; i < steps.size(); ++i) {
        INFO("connection " << conn << " wave " << wave << " request " << i << ": "
                           << steps[i].bytes.substr(0, 120) << "\nclient: " << c.last_error());
        auto r = c.read_response();
        REQUIRE(r.has_value());
        // A server may skip 100 Continue once the body is already there (RFC 9110 10.1.1).
        if (r->status == 100) r = c.read_response();
        REQUIRE(r.has_value());
        REQUIRE(r->status == steps[i].status);
        if (r->status == 201) REQUIRE(sent.emplace(id_of(*r), steps[i].body).second);
        else if (r->status != 200) CHECK(is_error_body(r->body));
      }
    }
  }
  const ExitStatus st = s.server->stop();
  INFO(describe(st) << "\n" << s.server->stderr_text());
  REQUIRE(st.exited);
  REQUIRE(st.code == 0);
  std::map<uint64_t, std::string> stored;
  for (const auto& rec : read_records(s.dir.path())) REQUIRE(stored.emplace(rec.id, rec.body).second);
  CHECK(stored.size() == sent.size());
  CHECK(stored == sent);
}
