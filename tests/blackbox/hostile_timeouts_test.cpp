// Slowloris and idle clients against short timeouts (--request-timeout 2500ms, --idle-timeout
// 500ms). A request trickled one byte per 100 ms, in its head or in its body, keeps making
// progress yet must be answered 408 and closed once the request deadline passes: bytes do not
// refresh it, and the shorter idle timeout does not cut a started request quietly. An idle
// keep-alive connection, or one that never sends a byte, is closed with no bytes at all, while
// a connection that keeps working past the idle timeout stays open. Meanwhile a bystander on
// another connection is served after every trickled byte, and nothing trickled is stored.
// The timed sends are the behaviour under test; every wait for the server is an event poll.
//
// Time windows: the server's deadline runs from when it received the request's first byte (or
// accepted the connection, or last made progress), which is after the client noted the time and
// sent it, so "not before the timeout" is exact from the client's clock. "Not long after" allows
// kLateMs: the server checks deadlines at least every 100 ms, and the rest is scheduling on a
// shared machine. It is still short enough to tell each timeout from the other (idle + late <
// request) and from the defaults (60 s, 10 s). A deadline pushed back by each byte is told
// apart by the clock of the bytes themselves.
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

constexpr int kRequestTimeoutMs = 2500;
constexpr int kIdleTimeoutMs = 500;
constexpr int kByteIntervalMs = 100;
constexpr int kLateMs = 1'500;
static_assert(kIdleTimeoutMs + kLateMs < kRequestTimeoutMs);

std::vector<std::string> timeout_flags() {
  return {"--request-timeout", std::to_string(kRequestTimeoutMs) + "ms", "--idle-timeout",
          std::to_string(kIdleTimeoutMs) + "ms"};
}

struct Trickled {
  std::optional<Response> response;
  size_t bytes_sent = 0;
  int64_t last_byte_ms = -1;       // when the last byte before the answer was sent
  int64_t answered_after_ms = -1;  // both from just before the request's first byte was sent
};

// Sends `bytes` one byte per kByteIntervalMs until the server answers (or the deadline); the
// bystander is served after each byte. `request_start` is now_ms() from before the request's
// first byte was sent (by the caller, or here).
Trickled trickle(Client& c, std::string_view bytes, Bystander& bystander, int64_t request_start = -1,
                 int deadline_ms = kRequestTimeoutMs + kLateMs + 1'000) {
  Trickled t;
  const int64_t start = request_start >= 0 ? request_start : now_ms();
  int64_t next_send = now_ms();
  while (now_ms() - start < deadline_ms) {
    if (t.bytes_sent < bytes.size() && now_ms() >= next_send) {
      const int64_t sending = now_ms();
      if (!c.send(bytes.substr(t.bytes_sent, 1))) break;
      t.last_byte_ms = sending - start;
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

void check_timed_out(const Trickled& t, Client& c, size_t request_bytes, const Bystander& bystander) {
  INFO("client: " << c.last_error() << "; " << t.bytes_sent << " bytes trickled, the last at "
                  << t.last_byte_ms << " ms; answered at " << t.answered_after_ms << " ms");
  REQUIRE(t.response.has_value());
  check_error(*t.response, 408, "request_timeout");
  // Answered at the request deadline: not before it (so not at the idle timeout either), not
  // long after it, and not pushed back by each byte (that answer could come no sooner than
  // the last byte's time plus the timeout).
  CHECK(t.answered_after_ms >= kRequestTimeoutMs);
  CHECK(t.answered_after_ms <= kRequestTimeoutMs + kLateMs);
  CHECK(t.answered_after_ms < t.last_byte_ms + kRequestTimeoutMs);
  CHECK(t.bytes_sent < request_bytes);  // the request never completed
  CHECK(bystander.created() >= t.bytes_sent);  // served after every byte
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
  check_timed_out(t, slow, request.size(), bystander);
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
  const int64_t request_start = now_ms();
  REQUIRE(slow.send(std::string_view(request).substr(0, body_at)));
  const Trickled t = trickle(slow, std::string_view(request).substr(body_at), bystander, request_start);
  check_timed_out(t, slow, request.size() - body_at, bystander);
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
  const int64_t request_start = now_ms();
  REQUIRE(slow.send(head));
  const Trickled t = trickle(slow, chunks, bystander, request_start);
  check_timed_out(t, slow, chunks.size(), bystander);
  check_only_bystander_records(s, bystander);
}

TEST_CASE("idle connections are closed quietly at --idle-timeout; a busy one is kept",
          "[blackbox][hostile]") {
  TestServer s(timeout_flags());
  Bystander bystander(s.port());  // posts every 100 ms: never idle for the timeout
  const int64_t start = now_ms();
  Client silent(s.port());        // never sends a byte
  Client after_request(s.port()); // one request, then quiet
  const int64_t request_sent = now_ms();
  CHECK(roundtrip(after_request, get_request("/healthz")).status == 200);

  // Each is closed at its idle deadline (from its accept, and from its answer) or later.
  int64_t silent_closed = -1, after_closed = -1;
  std::string silent_bytes, after_bytes;
  // Run for three idle timeouts, or until both are closed and that time has passed; give up
  // once both could have been closed kLateMs late.
  const int64_t give_up_ms = std::max(3 * kIdleTimeoutMs, kIdleTimeoutMs + kLateMs) + kByteIntervalMs;
  while (now_ms() - start < give_up_ms) {
    bystander.post();
    pollfd p[2] = {{silent_closed < 0 ? silent.fd() : -1, POLLIN, 0},
                   {after_closed < 0 ? after_request.fd() : -1, POLLIN, 0}};
    if (poll(p, 2, kByteIntervalMs) > 0) {
      if (p[0].revents != 0) {
        silent_closed = now_ms() - start;
        CHECK(silent.closed_by_peer(100));  // EOF with no bytes before it
        silent_bytes = silent.last_error();
      }
      if (p[1].revents != 0) {
        after_closed = now_ms() - request_sent;
        CHECK(after_request.closed_by_peer(100));
        after_bytes = after_request.last_error();
      }
    }
    if (silent_closed >= 0 && after_closed >= 0 && now_ms() - start > 3 * kIdleTimeoutMs) break;
  }
  INFO("silent: " << silent_bytes << "; after request: " << after_bytes);
  CHECK(silent_closed >= kIdleTimeoutMs);
  CHECK(silent_closed <= kIdleTimeoutMs + kLateMs);
  CHECK(after_closed >= kIdleTimeoutMs);
  CHECK(after_closed <= kIdleTimeoutMs + kLateMs);
  // The bystander worked through three idle timeouts on one connection and is still served.
  CHECK(now_ms() - start >= 3 * kIdleTimeoutMs);
  CHECK(bystander.post());
  const std::string m = metrics_on(bystander.client());
  CHECK(metric_value(m, "busyring_connections_open").value_or(-1) == 1);
  // A quiet close is not an answer: no 408 was counted.
  CHECK(requests_with_status(m, 408) == 0);
  check_only_bystander_records(s, bystander);
}
