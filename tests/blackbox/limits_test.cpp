// Bounded resources seen from outside: --idle-timeout closes a quiet keep-alive connection,
// --request-timeout answers a stalled request with 408 and closes, --max-connections turns
// away connections over the limit and takes new ones once a slot frees, and SIGTERM does not
// wait for idle clients. Every wait is a deadline on an event the server causes.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace blackbox;

TEST_CASE("a keep-alive connection idle past --idle-timeout is closed", "[blackbox]") {
  TestServer s({"--idle-timeout", "300ms"});
  Client c(s.port());
  CHECK(roundtrip(c, get_request("/healthz")).status == 200);
  const int64_t start = now_ms();
  CHECK(c.closed_by_peer(5'000));
  const int64_t waited = now_ms() - start;
  CHECK(waited >= 250);  // not before the timeout (the timer may fire up to one tick late)
}

TEST_CASE("a request not complete within --request-timeout gets 408 and the connection closes",
          "[blackbox]") {
  TestServer s({"--request-timeout", "400ms", "--idle-timeout", "60s"});
  SECTION("stalled in the body") {
    Client c(s.port());
    const std::string request = post_request(usage_body("stalled"));
    REQUIRE(c.send(std::string_view(request).substr(0, request.size() - 10)));
    const auto r = c.read_response(5'000);
    REQUIRE(r.has_value());
    check_error(*r, 408, "request_timeout");
    CHECK(c.closed_by_peer());
  }
  SECTION("stalled in the head") {
    Client c(s.port());
    REQUIRE(c.send("POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Ty"));
    const auto r = c.read_response(5'000);
    REQUIRE(r.has_value());
    check_error(*r, 408, "request_timeout");
    CHECK(c.closed_by_peer());
  }
  SECTION("nothing stored for the stalled request") {
    {
      Client c(s.port());
      const std::string request = post_request(usage_body("stalled"));
      REQUIRE(c.send(std::string_view(request).substr(0, request.size() - 1)));
      const auto r = c.read_response(5'000);
      REQUIRE(r.has_value());
      CHECK(r->status == 408);
    }
    REQUIRE(s.server->stop().code == 0);
    CHECK(read_records(s.dir.path()).empty());
  }
}

TEST_CASE("connections over --max-connections are turned away until a slot frees", "[blackbox]") {
  constexpr int kLimit = 4;
  TestServer s({"--max-connections", std::to_string(kLimit), "--threads", "1"});
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < kLimit; ++i) {
    held.push_back(std::make_unique<Client>(s.port()));
    CHECK(roundtrip(*held.back(), get_request("/healthz")).status == 200);
  }
  {
    Client extra(s.port());
    REQUIRE(extra.connected());  // the kernel completes the handshake; the server then refuses
    (void)extra.send(get_request("/healthz"));
    CHECK(!extra.read_response(5'000).has_value());
  }
  // The held connections are unaffected.
  for (auto& c : held) CHECK(roundtrip(*c, post_request(usage_body("held"))).status == 201);
  // Free one slot; a new connection is served once the server has seen the close.
  held.pop_back();
  bool served = false;
  for (const int64_t deadline = now_ms() + 5'000; !served && now_ms() < deadline;) {
    Client again(s.port());
    if (!again.send(get_request("/healthz"))) continue;
    const auto r = again.read_response(1'000);
    served = r.has_value() && r->status == 200;
  }
  CHECK(served);
}

TEST_CASE("SIGTERM with idle keep-alive clients exits 0 promptly and closes them", "[blackbox]") {
  TestServer s;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 8; ++i) {
    clients.push_back(std::make_unique<Client>(s.port()));
    CHECK(roundtrip(*clients.back(), get_request("/healthz")).status == 200);
  }
  const int64_t start = now_ms();
  const ExitStatus st = s.server->stop(SIGTERM, 30'000);
  const std::string err = s.server->stderr_text();
  INFO(describe(st) << "\n" << err);
  CHECK(st.exited);
  CHECK(st.code == 0);
  // Idle clients are closed at once, not held until the 10 s grace meant for unanswered
  // requests runs out: the server says so when it cuts connections at the grace deadline, and
  // waiting for it could not take less than those 10 s.
  CHECK(err.find("stop grace period over") == std::string::npos);
  CHECK(err.find("cut at the grace deadline") == std::string::npos);
  CHECK(now_ms() - start < 10'000);
  for (auto& c : clients) CHECK(c->closed_by_peer(1'000));
}
