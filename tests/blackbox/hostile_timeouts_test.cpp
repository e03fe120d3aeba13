// Slowloris and idle clients against short timeouts (--request-timeout 1500ms, --idle-timeout
// 500ms). A request trickled one byte per 100 ms, in its head or in its body, keeps making
// progress yet must be answered 408 and closed once the request deadline passes: bytes do not
// refresh it, and the shorter idle timeout does not cut a started request quietly. An idle
// keep-alive connection, or one that never sends a byte, is closed with no bytes at all, while
// a connection that keeps working past the idle timeout stays open. Meanwhile a bystander on
// another connection is served after every trickled byte, and nothing trickled is stored.
// The timed sends are the behaviour under test; every wait for the server is an event poll.
#include <poll.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "hostile.h"

using namespace blackbox;

namespace {

constexpr int kRequestTimeoutMs = 1500;
constexpr int kIdleTimeoutMs = 500;
constexpr int kByteIntervalMs = 100;

std::vector<std::string> timeout_flags() {
  return {"--request-timeout", std::to_string(kRequestTimeoutMs) + "ms", "--idle-timeout",
          std::to_string(kIdleTimeoutMs) + "ms"};
}

struct Trickled {
  std::optional<Response> response;
  size_t bytes_sent = 0;
  int64_t answered_after_ms = -1;  // from the first trickled byte
};

// Sends `bytes` one byte per kByteIntervalMs until the server answers (or the deadline); the
// bystander is served after each byte.
Trickled trickle(Client& c, std::string_view bytes, Bystander& bystander, int deadline_ms = 6'000) {
  Trickled t;
  const int64_t start = now_ms();
  int64_t next_send = start;
  while (now_ms() - start < deadline_ms) {
    if (t.bytes_sent < bytes.size() && now_ms() >= next_send) {
      if (!c.send(bytes.substr(t.bytes_sent, 1))) break;
      ++t.bytes_sent;
      next_send += kByteIntervalMs;
      bystander.post();
    }
    pollfd p{c.fd(), POLLIN, 0};
    const int64_t wait = std::max<int64_t>(0, next_send - now_ms());
    if (poll(&p, 1, static_cast<int>(wait)) > 0) {
      t.answered_after_ms = now_ms() - start;
      t.response = c.read_response(2'000);
      break;
    }
  }
  return t;
}

void check_timed_out(const Trickled& t, Client& c, size_t request_bytes) {
  INFO("client: " << c.last_error() << "; " << t.bytes_sent << " bytes trickled");
  REQUIRE(t.response.has_value());
  check_error(*t.response, 408, "request_timeout");
  // Answered at the request deadline: not at the idle timeout, not pushed back by each byte.
  CHECK(t.answered_after_ms >= kRequestTimeoutMs - 100);
  CHECK(t.answered_after_ms <= kRequestTimeoutMs + 2'000);
  CHECK(t.bytes_sent >= 10);               // bytes kept arriving up to the deadline
  CHECK(t.bytes_sent < request_bytes);     // and the request never completed
  CHECK(c.closed_by_peer(3'000));
}

}  // namespace

TEST_CASE("slowloris in the head: one byte per 100 ms gets 408 at --request-timeout, then close",
          "[blackbox][hostile]") {
  TestServer s(timeout_flags());
  Bystander bystander(s.port());
  bystander.post();
  const std::string request =
      "POST /api/usages HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "X-Slow: " + std::string(200, 's') + "\r\n\r\n";
  Client slow(s.port());
  const Trickled t = trickle(slow, request, bystander);
  check_timed_out(t, slow, request.size());
  CHECK(bystander.created() >= 10);
  bystander.post();
  check_only_bystander_records(s, bystander);
}

TEST_CASE("slowloris in the body: the head complete, the body trickled, gets 408 then close",
          "[blackbox][hostile]") {
  TestServer s(timeout_flags());
  Bystander bystander(s.port());
  const std::string request = post_request(usage_body("trickled-" + std::string(100, 't')));
  const size_t body_at = request.find("\r\n\r\n") + 4;
  Client slow(s.port());
  REQUIRE(slow.send(std::string_view(request).substr(0, body_at)));
  const Trickled t = trickle(slow, std::string_view(request).substr(body_at), bystander);
  check_timed_out(t, slow, request.size() - body_at);
  CHECK(bystander.created() >= 10);
  check_only_bystander_records(s, bystander);
}

TEST_CASE("slowloris in a chunked body gets 408 then close", "[blackbox][hostile]") {
  TestServer s(timeout_flags());
  Bystander bystander(s.port());
  const std::string head =
      "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  // Each chunk is complete and valid; only the whole message never ends in time.
  std::string chunks;
  const std::string body = usage_body("chunk-trickled");
  for (const char ch : body) chunks += std::string("1\r\n") + ch + "\r\n";
  Client slow(s.port());
  REQUIRE(slow.send(head));
  const Trickled t = trickle(slow, chunks, bystander);
  check_timed_out(t, slow, chunks.size());
  check_only_bystander_records(s, bystander);
}

TEST_CASE("idle connections are closed quietly at --idle-timeout; a busy one is kept",
          "[blackbox][hostile]") {
  TestServer s(timeout_flags());
  Bystander bystander(s.port());  // posts every 100 ms: never idle for the timeout
  Client silent(s.port());        // never sends a byte
  Client after_request(s.port()); // one request, then quiet
  const int64_t start = now_ms();
  CHECK(roundtrip(after_request, get_request("/healthz")).status == 200);
  const int64_t quiet_since = now_ms();

  int64_t silent_closed = -1, after_closed = -1;
  std::string silent_bytes, after_bytes;
  // Run for three idle timeouts, or until both are closed and two timeouts have passed.
  while (now_ms() - start < 3 * kIdleTimeoutMs + 1'000) {
    bystander.post();
    pollfd p[2] = {{silent_closed < 0 ? silent.fd() : -1, POLLIN, 0},
                   {after_closed < 0 ? after_request.fd() : -1, POLLIN, 0}};
    if (poll(p, 2, kByteIntervalMs) > 0) {
      if (p[0].revents != 0) {
        CHECK(silent.closed_by_peer(100));  // EOF with no bytes before it
        silent_bytes = silent.last_error();
        silent_closed = now_ms() - start;
      }
      if (p[1].revents != 0) {
        CHECK(after_request.closed_by_peer(100));
        after_bytes = after_request.last_error();
        after_closed = now_ms() - quiet_since;
      }
    }
    if (silent_closed >= 0 && after_closed >= 0 && now_ms() - start > 3 * kIdleTimeoutMs) break;
  }
  INFO("silent: " << silent_bytes << "; after request: " << after_bytes);
  CHECK(silent_closed >= kIdleTimeoutMs - 100);
  CHECK(silent_closed <= kIdleTimeoutMs + 1'000);
  CHECK(after_closed >= kIdleTimeoutMs - 100);
  CHECK(after_closed <= kIdleTimeoutMs + 1'000);
  // The bystander worked through three idle timeouts on one connection and is still served.
  CHECK(now_ms() - start >= 3 * kIdleTimeoutMs);
  CHECK(bystander.post());
  const std::string m = metrics_on(bystander.client());
  CHECK(metric_value(m, "busyring_connections_open").value_or(-1) == 1);
  // A quiet close is not an answer: no 408 was counted.
  CHECK(requests_with_status(m, 408) == 0);
  check_only_bystander_records(s, bystander);
}
