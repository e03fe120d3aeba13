// 1,000 slowloris connections, each trickling a request head one byte per ~200 ms (from one
// poll loop over non-blocking sockets), while a few keep-alive connections post usages as fast
// as they are answered. The normal load must complete every request with 201, the slowloris
// connections stay open and unanswered (their request deadline, 30 s here, is far away), and
// the server holds them all. The normal load's latency percentiles are printed as information
// only: timing is measured by the benchmarks, not asserted by a test on a shared 2-core VM.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <cerrno>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "hostile.h"

using namespace blackbox;

namespace {

constexpr int kSlowConnections = 1'000;
constexpr int kByteIntervalMs = 200;
constexpr int kLoadConnections = 4;
constexpr int kLoadMs = 2'000;  // ten slowloris intervals

struct LoadResult {
  int requests = 0;
  int created = 0;
  std::vector<int> other_statuses;
  std::vector<int64_t> latency_us;
  std::string error;
};

void run_load(uint16_t port, int index, int64_t until_ms, LoadResult& out) {
  Client c(port);
  if (!c.connected()) {
    out.error = c.last_error();
    return;
  }
  for (int i = 0; now_ms() < until_ms; ++i) {
    ++out.requests;
    const std::string request = post_request(usage_body("load-" + std::to_string(index) + "-" + std::to_string(i)));
    const auto t0 = std::chrono::steady_clock::now();
    if (!c.send(request)) {
      out.error = c.last_error();
      return;
    }
    const auto r = c.read_response(10'000);
    if (!r) {
      out.error = c.last_error();
      return;
    }
    out.latency_us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now() - t0).count());
    if (r->status == 201) ++out.created;
    else out.other_statuses.push_back(r->status);
  }
}

struct Slow {
  int fd = -1;
  size_t sent = 0;
  int64_t next_ms = 0;
};

}  // namespace

TEST_CASE("1000 slowloris connections do not stop normal keep-alive load from being served",
          "[blackbox][hostile]") {
  TestServer s({"--request-timeout", "30s", "--idle-timeout", "30s"});
  const std::string head = "POST /api/usages HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                           "X-Slow: " + std::string(4000, 's');

  std::vector<Slow> slow(kSlowConnections);
  for (auto& c : slow) {
    c.fd = connect_nonblocking(s.port());
    REQUIRE(c.fd >= 0);
  }
  // Connected, then the first byte of each; the rest staggered over the interval.
  int unexpected = 0;
  std::string unexpected_what;
  const auto send_byte = [&](Slow& c) {
    const ssize_t n = ::send(c.fd, head.data() + c.sent, 1, MSG_NOSIGNAL);
    if (n == 1) ++c.sent;
    else if (errno != EAGAIN && errno != ENOTCONN) {
      if (++unexpected == 1) unexpected_what = std::string("send: ") + std::strerror(errno);
    }
  };
  {
    std::vector<pollfd> p;
    for (auto& c : slow) p.push_back({c.fd, POLLOUT, 0});
    size_t connected = 0;
    for (const int64_t deadline = now_ms() + 10'000; connected < slow.size() && now_ms() < deadline;) {
      if (poll(p.data(), p.size(), 100) <= 0) continue;
      for (auto& e : p)
        if (e.fd >= 0 && e.revents != 0) {
          e.fd = -1;
          ++connected;
        }
    }
    REQUIRE(connected == slow.size());
  }
  const int64_t t0 = now_ms();
  for (size_t i = 0; i < slow.size(); ++i) {
    send_byte(slow[i]);
    slow[i].next_ms = t0 + kByteIntervalMs + static_cast<int64_t>(i) * kByteIntervalMs / kSlowConnections;
  }
  // The server holds them all (plus the /metrics connection).
  double open = 0;
  for (const int64_t deadline = now_ms() + 10'000; now_ms() < deadline;) {
    open = metric_value(metrics_text(s.port()), "busyring_connections_open").value_or(-1);
    if (open >= kSlowConnections + 1) break;
  }
  CHECK(open >= kSlowConnections + 1);

  // Normal load on its own threads; the slowloris loop here until it is done.
  std::vector<LoadResult> results(kLoadConnections);
  std::atomic<int> done{0};
  std::vector<std::thread> load;
  const int64_t load_start = now_ms();
  for (int i = 0; i < kLoadConnections; ++i)
    load.emplace_back([&, i] {
      run_load(s.port(), i, load_start + kLoadMs, results[static_cast<size_t>(i)]);
      done.fetch_add(1);
    });
  std::vector<pollfd> watch;
  for (auto& c : slow) watch.push_back({c.fd, POLLIN, 0});
  size_t trickled = 0;
  while (done.load() < kLoadConnections && now_ms() - load_start < 60'000) {
    const int64_t now = now_ms();
    int64_t next = now + kByteIntervalMs;
    for (auto& c : slow) {
      if (c.next_ms <= now && c.sent < head.size()) {
        send_byte(c);
        ++trickled;
        c.next_ms += kByteIntervalMs;
      }
      next = std::min(next, c.next_ms);
    }
    // Nothing may come back on a slowloris connection: no answer, no close.
    const int wait = static_cast<int>(std::clamp<int64_t>(next - now_ms(), 0, 50));
    if (poll(watch.data(), watch.size(), wait) > 0) {
      for (auto& w : watch)
        if (w.revents != 0) {
          if (++unexpected == 1) unexpected_what = "a slowloris connection became readable (answered or closed)";
          w.fd = -1;
        }
    }
  }
  for (auto& t : load) t.join();
  const int64_t load_ms = now_ms() - load_start;
  const std::string m = metrics_text(s.port());
  for (auto& c : slow) close(c.fd);

  std::vector<int64_t> lat;
  int created = 0, requests = 0;
  for (const auto& r : results) {
    INFO("load connection: " << r.error);
    CHECK(r.error.empty());
    CHECK(r.other_statuses.empty());
    created += r.created;
    requests += r.requests;
    lat.insert(lat.end(), r.latency_us.begin(), r.latency_us.end());
  }
  CHECK(requests >= kLoadConnections * 10);
  CHECK(created == requests);
  INFO(unexpected_what);
  CHECK(unexpected == 0);
  CHECK(trickled >= static_cast<size_t>(5 * kSlowConnections));  // they trickled all along
  CHECK(metric_value(m, "busyring_connections_open").value_or(-1) >= kSlowConnections + 1);
  std::sort(lat.begin(), lat.end());
  if (!lat.empty()) {
    const auto pct = [&](double p) { return lat[std::min(lat.size() - 1, static_cast<size_t>(p * static_cast<double>(lat.size())))]; };
    std::printf("slowloris: %d requests on %d keep-alive connections beside %d slowloris connections "
                "(%zu bytes trickled) in %lld ms: latency p50 %.2f ms, p99 %.2f ms, max %.2f ms "
                "(information, not asserted)\n",
                created, kLoadConnections, kSlowConnections, trickled, static_cast<long long>(load_ms),
                static_cast<double>(pct(0.50)) / 1000.0, static_cast<double>(pct(0.99)) / 1000.0,
                static_cast<double>(lat.back()) / 1000.0);
  }
  const ExitStatus st = s.server->stop();
  CHECK(st.exited);
  CHECK(st.code == 0);
}
