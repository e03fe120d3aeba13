// 50,000 concurrent idle connections are held, then all closed, twice. While they are held
// the server counts them all open, rejects none, still serves, and answers none of them; once
// they are closed busyring_connections_open returns to the /metrics connection alone, the second
// round costs no more memory than the first (no leak), and VmRSS returns to within
// kRssMarginKib of its baseline (what the connections cost is given back). The client side
// binds to 127.0.0.2 ... 127.0.0.9 before connecting (each source address has its own
// ephemeral ports) and raises its own RLIMIT_NOFILE (the server, its child, inherits the hard
// limit and raises its own). Where the hard limit cannot be raised (no CAP_SYS_RESOURCE) it
// says "SKIPPED: <reason>" and runs the same checks with as many connections as the limit
// allows. The resident memory per held connection is printed for the record.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "hostile.h"

using namespace blackbox;

namespace {

constexpr int kConnections = 50'000;
constexpr int kSources = 8;                      // 127.0.0.2 ... 127.0.0.9
constexpr int kInFlight = 1'000;                 // handshakes outstanding at once
#if defined(__SANITIZE_ADDRESS__)
// Under ASan (make test MODE=asan) RSS also counts ASan's shadow memory: the server gives idle
// connections' pages back (madvise), their shadow pages stay, and a second round may use other
// slots (measured: +4.2 MiB after 2 x 19,000). A leak there is LeakSanitizer's to report, at the
// server's exit, which this test checks is clean (exit code 0).
constexpr uint64_t kRssMarginKib = 16 * 1024;
#else
constexpr uint64_t kRssMarginKib = 4 * 1024;     // "back to baseline": within 4 MiB
#endif
constexpr rlim_t kWantFiles = 2 * kConnections + 20'000;  // covers the server too

// Raises this process's open-file limit; restores the soft limit when it goes.
class FileLimit {
 public:
  FileLimit() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit want{std::max(saved_.rlim_cur, kWantFiles), std::max(saved_.rlim_max, kWantFiles)};
    if (saved_.rlim_max == RLIM_INFINITY) want.rlim_max = RLIM_INFINITY;
    if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
      // Not privileged: the hard limit is what we get.
      want = {saved_.rlim_max, saved_.rlim_max};
      setrlimit(RLIMIT_NOFILE, &want);
    }
    rlimit now{};
    getrlimit(RLIMIT_NOFILE, &now);
    files_ = now.rlim_cur;
  }
  ~FileLimit() {
    rlimit back{saved_.rlim_cur, 0};
    rlimit now{};
    getrlimit(RLIMIT_NOFILE, &now);
    back.rlim_max = now.rlim_max;
    setrlimit(RLIMIT_NOFILE, &back);
  }
  rlim_t files() const { return files_; }

 private:
  rlimit saved_{};
  rlim_t files_ = 0;
};

double open_connections(uint16_t port) {
  return metric_value(metrics_text(port), "busyring_connections_open").value_or(-1);
}

struct Round {
  int64_t connect_ms = 0;
  int64_t close_ms = 0;
  uint64_t rss_held_kib = 0;
  uint64_t rss_after_kib = 0;
};

// Opens `connections` idle connections from 127.0.0.2..9, CHECKs that the server holds them all
// and still serves, closes them all and waits until the server has closed its side too.
Round hold_and_close(TestServer& s, int connections) {
  Round round;
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(connections));
  std::vector<pollfd> pending;  // at most kInFlight handshakes outstanding at once
  std::string error;
  const int64_t start = now_ms();
  while ((static_cast<int>(fds.size()) < connections || !pending.empty()) && now_ms() - start < 60'000) {
    while (static_cast<int>(pending.size()) < kInFlight &&
           static_cast<int>(fds.size() + pending.size()) < connections) {
      const std::string source = "127.0.0." + std::to_string(2 + (fds.size() + pending.size()) % kSources);
      const int fd = connect_nonblocking(s.port(), source.c_str());
      if (fd < 0) {
        error = "connect #" + std::to_string(fds.size() + pending.size()) + ": " + std::strerror(-fd);
        break;
      }
      pending.push_back({fd, POLLOUT, 0});
    }
    if (!error.empty()) break;
    if (poll(pending.data(), pending.size(), 1'000) <= 0) continue;
    for (size_t i = 0; i < pending.size();) {
      if (pending[i].revents == 0) {
        ++i;
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof so_error;
      getsockopt(pending[i].fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      if (so_error != 0 && error.empty()) error = std::string("handshake: ") + std::strerror(so_error);
      fds.push_back(pending[i].fd);
      pending[i] = pending.back();
      pending.pop_back();
    }
  }
  round.connect_ms = now_ms() - start;
  for (const auto& p : pending) fds.push_back(p.fd);
  INFO(error);
  CHECK(error.empty());
  REQUIRE(static_cast<int>(fds.size()) == connections);

  // The server accepts them all and holds them (+ the /metrics connection).
  double open = 0;
  for (const int64_t deadline = now_ms() + 30'000; now_ms() < deadline;) {
    open = open_connections(s.port());
    if (open >= connections + 1) break;
  }
  CHECK(open >= connections + 1);
  round.rss_held_kib = vm_rss_kib(s.server->pid());
  CHECK(metric_value(metrics_text(s.port()), "busyring_connections_rejected_total").value_or(-1) == 0);
  {
    Client c(s.port());  // still serving with every connection held
    CHECK(roundtrip(c, post_request(usage_body("with-all-held"))).status == 201);
  }
  // None of them was answered or closed while held.
  std::vector<pollfd> all;
  all.reserve(fds.size());
  for (const int fd : fds) all.push_back({fd, POLLIN, 0});
  CHECK(poll(all.data(), all.size(), 0) == 0);

  const int64_t close_start = now_ms();
  for (const int fd : fds) close(fd);
  for (const int64_t deadline = now_ms() + 30'000; now_ms() < deadline;) {
    open = open_connections(s.port());
    if (open == 1) break;
  }
  round.close_ms = now_ms() - close_start;
  CHECK(open == 1);  // only the /metrics connection asking
  round.rss_after_kib = vm_rss_kib(s.server->pid());
  return round;
}

}  // namespace

TEST_CASE("50000 idle connections are held, then closed, twice, and the server's memory returns",
          "[blackbox][hostile]") {
  const FileLimit limit;
  // Each side needs one descriptor per connection, each within its own limit (the server
  // inherits ours). Without enough for 50,000, the same test runs with what fits, and says so.
  int connections = kConnections;
  if (limit.files() < static_cast<rlim_t>(kConnections) + 1'000) {
    const std::string why = "RLIMIT_NOFILE is " + std::to_string(limit.files()) + " and cannot be raised to " +
                            std::to_string(kConnections + 1'000) + " (no CAP_SYS_RESOURCE?)";
    connections = static_cast<int>(limit.files()) - 1'000;
    WARN(why);
    if (connections < 1'000) {
      std::printf("SKIPPED: 50000 idle connections: %s\n", why.c_str());
      return;
    }
    std::printf("SKIPPED: 50000 idle connections: %s; ran with %d connections instead\n", why.c_str(),
                connections);
  }
  // Every source address must be usable (127.0.0.0/8 is local on Linux).
  {
    TestServer probe;
    for (int k = 0; k < kSources; ++k) {
      const std::string source = "127.0.0." + std::to_string(2 + k);
      const int fd = connect_nonblocking(probe.port(), source.c_str());
      if (fd < 0) {
        const std::string why = "cannot connect from " + source + ": " + std::strerror(-fd);
        WARN(why);
        std::printf("SKIPPED: 50000 idle connections: %s\n", why.c_str());
        return;
      }
      close(fd);
    }
  }

  TestServer s({"--max-connections", "60000", "--idle-timeout", "300s", "--request-timeout", "300s"});
  // Baseline once the server has served (both shards' first-use memory is in).
  for (int i = 0; i < 4; ++i) {
    Client c(s.port());
    CHECK(roundtrip(c, get_request("/healthz")).status == 200);
  }
  // The four clients' FINs may not all have reached the server yet: wait for them.
  double open_at_base = 0;
  for (const int64_t deadline = now_ms() + 10'000; now_ms() < deadline;)
    if ((open_at_base = open_connections(s.port())) == 1) break;
  CHECK(open_at_base == 1);  // only the /metrics connection asking
  const uint64_t rss_base = vm_rss_kib(s.server->pid());
  REQUIRE(rss_base > 0);

  const Round first = hold_and_close(s, connections);
  const Round second = hold_and_close(s, connections);  // the same again: slots are reused
  for (const Round* r : {&first, &second}) {
    std::printf("%d idle connections: connected in %lld ms, closed in %lld ms; server VmRSS baseline "
                "%llu KiB, held %llu KiB (%.2f KiB per connection), after close %llu KiB (margin %llu KiB)\n",
                connections, static_cast<long long>(r->connect_ms), static_cast<long long>(r->close_ms),
                static_cast<unsigned long long>(rss_base), static_cast<unsigned long long>(r->rss_held_kib),
                static_cast<double>(r->rss_held_kib - rss_base) / connections,
                static_cast<unsigned long long>(r->rss_after_kib), static_cast<unsigned long long>(kRssMarginKib));
  }
  // No leak: a second round of the same size costs nothing more.
  CHECK(second.rss_held_kib <= first.rss_held_kib + kRssMarginKib);
  CHECK(second.rss_after_kib <= first.rss_after_kib + kRssMarginKib);
  // And what the connections cost is given back once they are gone.
  CHECK(first.rss_after_kib <= rss_base + kRssMarginKib);
  CHECK(second.rss_after_kib <= rss_base + kRssMarginKib);

  // And the server works as before.
  {
    Client c(s.port());
    CHECK(roundtrip(c, post_request(usage_body("after-50k"))).status == 201);
  }
  const ExitStatus st = s.server->stop();
  CHECK(st.exited);
  CHECK(st.code == 0);
}
