// Hard limits at their edges and against clients that never finish, beyond the plain cases of
// api_status_test: 100 headers pass and 101 get 431; a head over --max-header that arrives in
// small pieces, or a header line that never ends, gets 431 without waiting for the end; a target
// of exactly 2 KiB passes and one byte more gets 414, also for a target that never ends; a body
// announced over --max-body gets 413 at once, also behind Expect: 100-continue (no 100 first),
// and a chunk declared larger than --max-body gets 413 as soon as its data passes the limit.
// Each rejection closes the connection, is counted by status, stores nothing, and a bystander
// is served after it. --max-connections: connections over it are closed at once without a
// byte, counted in busyring_connections_rejected_total, and the held ones are unharmed.
#include <memory>
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "hostile.h"

using namespace blackbox;

namespace {

std::string headers(int count) {
  std::string h;
  for (int i = 0; i < count; ++i) h += "h" + std::to_string(i) + ": v\r\n";
  return h;
}

// Sends request in pieces of `piece` bytes (as a slow or fragmenting client would).
void send_in_pieces(Client& c, std::string_view request, size_t piece) {
  for (size_t off = 0; off < request.size(); off += piece)
    if (!c.send(request.substr(off, piece))) return;  // the server may answer and close early
}

// The server answers `status` without the rest of the request ever being sent.
void expect_answer_before_end(uint16_t port, std::string_view partial, int status, std::string_view code,
                              Bystander& bystander) {
  INFO("partial request of " << partial.size() << " bytes: " << partial.substr(0, 120));
  {
    Client c(port);
    (void)c.send(partial);
    const auto r = c.read_response(5'000);
    INFO("client: " << c.last_error());
    REQUIRE(r.has_value());
    check_error(*r, status, code);
    if (r->status == status) CHECK(c.closed_by_peer(3'000));
  }
  bystander.post();
}

}  // namespace

TEST_CASE("header limits: 100 headers pass, 101 get 431; heads over --max-header in pieces or "
          "never ending get 431",
          "[blackbox][hostile]") {
  TestServer s({"--max-header", "1K"});
  Bystander bystander(s.port());
  const double before = requests_with_status(metrics_on(bystander.client()), 431);

  // "Host" counts: 100 lines in all.
  {
    Client c(s.port());
    CHECK(roundtrip(c, get_request("/healthz", headers(99))).status == 200);
    CHECK(roundtrip(c, post_request(usage_body("bystander-100-headers"), headers(96))).status == 201);
  }
  expect_rejected_and_closed(s.port(), get_request("/healthz", headers(100)), 431, "headers_too_large", bystander);
  expect_rejected_and_closed(s.port(), post_request(usage_body("too-many"), headers(98)), 431, "headers_too_large",
                             bystander);
  // Many small headers, 2 KiB in all, sent 16 bytes at a time.
  {
    std::string many;
    for (int i = 0; many.size() < 2048; ++i) many += "X-" + std::to_string(i) + ": " + std::string(20, 'v') + "\r\n";
    Client c(s.port());
    send_in_pieces(c, post_request(usage_body("pieces"), many), 16);
    const auto r = c.read_response(5'000);
    INFO("client: " << c.last_error());
    REQUIRE(r.has_value());
    check_error(*r, 431, "headers_too_large");
    CHECK(c.closed_by_peer(3'000));
    bystander.post();
  }
  // A header value that never ends, and a header name that never ends.
  expect_answer_before_end(s.port(), std::string(
      "POST /api/usages HTTP/1.1\r\nHost: x\r\nX-Endless: ") + std::string(4096, 'e'), 431, "headers_too_large",
      bystander);
  expect_answer_before_end(s.port(), "GET /healthz HTTP/1.1\r\nX-" + std::string(4096, 'n'), 431,
                           "headers_too_large", bystander);
  // Endless empty-valued headers: each line is tiny, the head is not.
  {
    std::string endless = "GET /healthz HTTP/1.1\r\n";
    for (int i = 0; endless.size() < 4096; ++i) endless += "e" + std::to_string(i) + ":\r\n";
    expect_answer_before_end(s.port(), endless, 431, "headers_too_large", bystander);
  }
  CHECK(requests_with_status(metrics_on(bystander.client()), 431) - before == 6);
  // The 100-header POST above is the one other record.
  check_only_bystander_records(s, bystander, 1);
}

TEST_CASE("target and body limits: 2048-byte target passes, 2049 gets 414; bodies over --max-body "
          "get 413 at once",
          "[blackbox][hostile]") {
  TestServer s({"--max-body", "1K"});
  Bystander bystander(s.port());
  const std::string m0 = metrics_on(bystander.client());

  {
    Client c(s.port());
    const std::string target = "/healthz?" + std::string(2048 - 9, 'q');
    REQUIRE(target.size() == 2048);
    CHECK(roundtrip(c, get_request(target)).status == 200);
  }
  expect_rejected_and_closed(s.port(), get_request("/healthz?" + std::string(2049 - 9, 'q')), 414,
                             "target_too_long", bystander);
  expect_rejected_and_closed(s.port(), post_request(usage_body("long-target")).replace(5, 11,
                             "/api/usages?" + std::string(3000, 'u')), 414, "target_too_long", bystander);
  // A target that never ends.
  expect_answer_before_end(s.port(), "GET /" + std::string(4000, 't'), 414, "target_too_long", bystander);

  // Content-Length far over the limit: 413 before any body byte is sent.
  expect_answer_before_end(s.port(),
                           "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Content-Length: 1000000000000\r\n\r\n",
                           413, "body_too_large", bystander);
  // ... and behind Expect: 100-continue the client is told 413 instead of being invited to send.
  {
    Client c(s.port());
    REQUIRE(c.send("POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Expect: 100-continue\r\nContent-Length: 1025\r\n\r\n"));
    const auto r = c.read_response(5'000);
    INFO("client: " << c.last_error());
    REQUIRE(r.has_value());
    check_error(*r, 413, "body_too_large");  // not 100 Continue
    CHECK(c.closed_by_peer(3'000));
    bystander.post();
  }
  // A chunk declared 1 MiB: 413 once its data passes 1 KiB, without waiting for the rest.
  const std::string big = usage_body(std::string(2000, 'b'));
  expect_answer_before_end(s.port(),
                           "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n100000\r\n" + big,
                           413, "body_too_large", bystander);
  // Many small chunks adding up past the limit, sent one chunk per write.
  {
    Client c(s.port());
    REQUIRE(c.send("POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n"));
    for (size_t off = 0; off < big.size(); off += 100) {
      char size[16];
      const std::string piece = big.substr(off, 100);
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      if (!c.send(size + piece + "\r\n")) break;
    }
    const auto r = c.read_response(5'000);
    INFO("client: " << c.last_error());
    REQUIRE(r.has_value());
    check_error(*r, 413, "body_too_large");
    CHECK(c.closed_by_peer(3'000));
    bystander.post();
  }
  const std::string m1 = metrics_on(bystander.client());
  CHECK(requests_with_status(m1, 414) - requests_with_status(m0, 414) == 3);
  CHECK(requests_with_status(m1, 413) - requests_with_status(m0, 413) == 4);
  check_only_bystander_records(s, bystander);
}

TEST_CASE("--max-connections: connections over it are closed at once and counted; held ones unharmed",
          "[blackbox][hostile]") {
  constexpr int kLimit = 6;
  constexpr int kExtra = 3;
  // Two shards share the limit. No timer of the server can close a connection within
  // kCloseMs (its timeouts are far longer), so a close within it is the refusal at accept.
  constexpr int kCloseMs = 10'000;
  TestServer s({"--max-connections", std::to_string(kLimit), "--idle-timeout", "300s", "--request-timeout", "300s"});
  Bystander bystander(s.port());
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < kLimit - 1; ++i) {
    held.push_back(std::make_unique<Client>(s.port()));
    CHECK(roundtrip(*held.back(), get_request("/healthz")).status == 200);
  }
  // Every slot is taken. Each extra connection completes its handshake in the kernel and is
  // closed by the server at once, without a byte and without sending anything first.
  for (int i = 0; i < kExtra; ++i) {
    Client extra(s.port());
    REQUIRE(extra.connected());
    const bool closed = extra.closed_by_peer(kCloseMs);
    INFO("extra: " << extra.last_error());
    CHECK(closed);
  }
  // One that sends a request at once is not answered either.
  {
    Client extra(s.port());
    (void)extra.send(post_request(usage_body("over-the-limit")));
    CHECK(!extra.read_response(3'000).has_value());
  }
  const std::string m = metrics_on(bystander.client());
  INFO(m);
  CHECK(metric_value(m, "busyring_connections_rejected_total").value_or(-1) == kExtra + 1);
  CHECK(metric_value(m, "busyring_connections_open").value_or(-1) == kLimit);
  // The held connections are unharmed: each posts on its old connection.
  for (auto& c : held) {
    const Response r = roundtrip(*c, post_request(usage_body("bystander-held")));
    CHECK(r.status == 201);
  }
  bystander.post();
  const ExitStatus st = s.server->stop();
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  const auto records = read_records(s.dir.path());
  CHECK(records.size() == bystander.created() + held.size());
  for (const auto& rec : records) CHECK(rec.body.find("over-the-limit") == std::string::npos);
}
