// Tens of thousands of concurrent idle connections are held, then all closed, twice: 50,000
// where RLIMIT_NOFILE allows it, else as many as the hard limit allows (at least
// kMinConnections; fewer fail, saying how to raise the limit). The number run is printed, in
// the same line as the memory it cost. While they are held the server counts them all open,
// rejects none, still serves, and answers none of them; once they are closed
// busyring_connections_open returns to the /metrics connection alone and the server gives
// their memory back. Memory is the server's resident anonymous memory, counted exactly
// (smaps_rollup), and judged per connection: after the close, and in the second round against
// the first, at most kKeptBytesPerConnection may stay (a leak of even one small allocation per
// connection is over it; a fixed cost spread over 19,000+ connections is not). The client side
// binds to 127.0.0.2 ... 127.0.0.9 before connecting (each source address has its own
// ephemeral ports) and raises its own RLIMIT_NOFILE (the server, its child, inherits the hard
// limit and raises its own).
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
#include "load_driver.h"

using namespace blackbox;

namespace {

constexpr int kWanted = 50'000;
constexpr int kMinConnections = 10'000;
constexpr int kSpareFiles = 1'000;               // the test's and the server's other descriptors
constexpr int kSources = 8;                      // 127.0.0.2 ... 127.0.0.9
constexpr int kInFlight = 1'000;                 // handshakes outstanding at once
// Measured here (2 cores, kernel 6.18), release and ASan builds alike: 5-9 bytes per connection
// stay (the free-slot lists keep their capacity). An idle connection holds about 450 bytes; the
// smallest heap allocation is 32.
constexpr uint64_t kKeptBytesPerConnection = 24;
constexpr rlim_t kWantFiles = kWanted + 20'000;  // covers the server too
// For the last close to reach the server and its pages to go: 10 s was too short once beside a
// benchmark on 2 cores, and the wait ends as soon as the memory is back.
constexpr int kGiveBackMs = 30'000;

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
  uint64_t held_kib = 0;   // the server's anonymous memory with every connection held
  uint64_t after_kib = 0;  // and once they are closed and the memory is given back
};

// Opens `connections` idle connections from 127.0.0.2..9, CHECKs that the server holds them all
// and still serves, closes them all and waits until the server has closed its side too, then
// until its anonymous memory is back to at most `give_back_kib` (or the deadline).
Round hold_and_close(TestServer& s, int connections, uint64_t give_back_kib) {
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
  round.held_kib = anonymous_kib(s.server->pid());
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
  // The shard that served the last /metrics request gives its slots' pages back once that
  // connection's close reaches it: wait for the memory, not for a moment.
  wait_until([&] { return (round.after_kib = anonymous_kib(s.server->pid())) <= give_back_kib; }, kGiveBackMs);
  return round;
}

// What is allowed to stay, in KiB, of `connections` connections.
uint64_t kept_kib(int connections) {
  return static_cast<uint64_t>(connections) * kKeptBytesPerConnection / 1024;
}

double bytes_per_connection(uint64_t from_kib, uint64_t to_kib, int connections) {
  return (static_cast<double>(to_kib) - static_cast<double>(from_kib)) * 1024 / connections;
}

}  // namespace

TEST_CASE("50000 idle connections (or as many as RLIMIT_NOFILE allows, at least 10000) are held, then closed, "
          "twice, and the server's memory returns",
          "[blackbox][hostile]") {
  const FileLimit limit;
  // Each side needs one descriptor per connection, each within its own limit (the server
  // inherits ours): as many as fit, up to 50,000.
  const int connections =
      static_cast<int>(std::min<rlim_t>(kWanted, limit.files() - std::min<rlim_t>(limit.files(), kSpareFiles)));
  const std::string limited = connections == kWanted ? ""
      : "; RLIMIT_NOFILE is " + std::to_string(limit.files()) + " and cannot be raised to " +
            std::to_string(kWantFiles) + " here (no CAP_SYS_RESOURCE)";
  INFO(connections << " connections" << limited);
  if (connections < kMinConnections)
    FAIL("too few descriptors for " << kMinConnections << " connections" << limited
                                    << ": raise the hard limit (ulimit -Hn 70000 as root) and run again");
  // Every source address must be usable (127.0.0.0/8 is local on Linux).
  {
    TestServer probe;
    for (int k = 0; k < kSources; ++k) {
      const std::string source = "127.0.0." + std::to_string(2 + k);
      const int fd = connect_nonblocking(probe.port(), source.c_str());
      INFO("cannot connect from " << source << ": " << std::strerror(-fd));
      REQUIRE(fd >= 0);
      close(fd);
    }
  }

  TestServer s({"--max-connections", "60000", "--idle-timeout", "300s", "--request-timeout", "300s"});
  // Baseline once the server has served and posted (both shards' first-use memory is in).
  for (int i = 0; i < 8; ++i) {
    Client c(s.port());
    CHECK(roundtrip(c, get_request("/healthz")).status == 200);
    CHECK(roundtrip(c, post_request(usage_body("warm-up"))).status == 201);
  }
  const uint64_t base_kib = anonymous_kib(s.server->pid());
  REQUIRE(base_kib > 0);

  const Round first = hold_and_close(s, connections, base_kib + kept_kib(connections));
  const Round second = hold_and_close(s, connections, base_kib + kept_kib(connections));  // slots are reused
  for (const Round* r : {&first, &second}) {
    std::printf("%d idle connections (50000 wanted%s): connected in %lld ms, closed in %lld ms; server anonymous "
                "memory %llu KiB before, held %llu KiB (%.0f bytes per connection), after close %llu KiB (%.1f "
                "bytes per connection kept, at most %llu allowed)\n",
                connections, limited.c_str(), static_cast<long long>(r->connect_ms),
                static_cast<long long>(r->close_ms), static_cast<unsigned long long>(base_kib),
                static_cast<unsigned long long>(r->held_kib), bytes_per_connection(base_kib, r->held_kib, connections),
                static_cast<unsigned long long>(r->after_kib), bytes_per_connection(base_kib, r->after_kib, connections),
                static_cast<unsigned long long>(kKeptBytesPerConnection));
  }
  std::fflush(stdout);
  // What the connections cost is given back once they are gone, and a second round of the same
  // size costs nothing more than the first: no leak per connection.
  CHECK(first.after_kib <= base_kib + kept_kib(connections));
  CHECK(second.after_kib <= base_kib + kept_kib(connections));
  CHECK(second.held_kib <= first.held_kib + kept_kib(connections));

  // And the server works as before.
  {
    Client c(s.port());
    CHECK(roundtrip(c, post_request(usage_body("after-many"))).status == 201);
  }
  const ExitStatus st = s.server->stop();
  CHECK(st.exited);
  CHECK(st.code == 0);
}
