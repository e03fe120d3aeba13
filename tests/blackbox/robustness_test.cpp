// Hostile and careless clients: a half-close after the request, clients that reset mid-head
// or mid-burst without reading, and seeded random bytes. The server answers what it can, never
// crashes, keeps serving others, stops with exit status 0, and leaves a log that recovers clean.
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace blackbox;

namespace {

void check_still_serving(uint16_t port) {
  Client c(port);
  CHECK(roundtrip(c, get_request("/healthz")).status == 200);
  CHECK(roundtrip(c, post_request(usage_body("still-serving"))).status == 201);
}

void stop_and_check_log(TestServer& s) {
  const ExitStatus st = s.server->stop();
  INFO(describe(st) << "\n" << s.server->stderr_text());
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  std::set<uint64_t> ids;
  for (const auto& rec : read_records(s.dir.path())) CHECK(ids.insert(rec.id).second);
}

}  // namespace

TEST_CASE("requests followed by a half-close are answered, then the connection closes",
          "[blackbox]") {
  TestServer s;
  Client c(s.port());
  REQUIRE(c.send(post_request(usage_body("half-close")) + get_request("/healthz")));
  c.shutdown_write();
  const auto first = c.read_response();
  INFO("client: " << c.last_error());
  REQUIRE(first.has_value());
  CHECK(first->status == 201);
  const auto second = c.read_response();
  REQUIRE(second.has_value());
  CHECK(second->status == 200);
  CHECK(c.closed_by_peer());
  stop_and_check_log(s);
}

TEST_CASE("clients that reset mid-request or mid-burst leave the server serving", "[blackbox]") {
  TestServer s;
  const std::string burst = [] {
    std::string b;
    for (int i = 0; i < 60; ++i) b += post_request(usage_body("burst-" + std::to_string(i)));
    return b;
  }();
  for (int round = 0; round < 20; ++round) {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<Client>(s.port()));
    REQUIRE(clients[0]->send("POST /api/usages HTTP/1.1\r\nContent-Le"));
    REQUIRE(clients[1]->send(post_request(usage_body("cut")).substr(0, 150)));
    REQUIRE(clients[2]->send(burst));
    REQUIRE(clients[3]->send(burst.substr(0, burst.size() / 2 + 7)));
    REQUIRE(clients[4]->send(post_request(usage_body("then-reset"))));
    REQUIRE(clients[5]->send(
        "POST /api/usages HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
        "Content-Length: 100\r\n\r\n"));
    for (auto& c : clients) c->reset();
  }
  check_still_serving(s.port());
  stop_and_check_log(s);
}

TEST_CASE("seeded random bytes never crash the server", "[blackbox]") {
  TestServer s({"--max-body", "4K", "--max-header", "2K"});
  std::mt19937 rng(1478009511);
  const std::vector<std::string> pieces = {
      "POST /api/usages HTTP/1.1\r\n", "GET /healthz HTTP/1.1\r\n", "Content-Length: 12\r\n",
      "Content-Length: 99999999999999999999\r\n", "Transfer-Encoding: chunked\r\n",
      "Content-Type: application/json\r\n", "Expect: 100-continue\r\n", "Connection: close\r\n",
      "\r\n", "\r\n\r\n", "5\r\nhello\r\n", "0\r\n\r\n", "ffffffffffffffff\r\n",
      R"({"patientId":"1","timestamp":"t","medication":"m"})", "{\"", "\n", std::string(1, '\0'), "HTTP/1.0", " ",
  };
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> coin(0, 3);
  for (int i = 0; i < 300; ++i) {
    std::string input;
    const int parts = 1 + coin(rng) * 4;
    for (int p = 0; p < parts; ++p) {
      if (coin(rng) == 0) {
        for (int k = 0; k < 8; ++k) input += static_cast<char>(byte(rng));
      } else {
        input += pieces[pick(rng)];
      }
    }
    Client c(s.port());
    REQUIRE(c.connected());
    (void)c.send(input);
    c.shutdown_write();
    // Whatever comes back must be well-formed responses until the server closes.
    INFO("input #" << i << ": " << input);
    int responses = 0;
    while (const auto r = c.read_response(5'000)) {
      CHECK((r->status >= 100 && r->status < 600));
      CHECK(r->version == "HTTP/1.1");
      REQUIRE(++responses < 50);
    }
    // The input ended (half-close), so the server ends too: no hang, no unparsable answer.
    const std::string& end = c.last_error();
    CHECK((end.find("closed") != std::string::npos || end.find("reset") != std::string::npos));
  }
  check_still_serving(s.port());
  stop_and_check_log(s);
}
