// systemd's notification protocol, spoken to a fake NOTIFY_SOCKET (a unix datagram socket the
// test binds, as systemd does; also an abstract "@" one): STATUS while recovering, READY=1 once
// the server accepts, a STATUS rate line while serving, STOPPING=1 on SIGTERM, in that order.
// The watchdog: WATCHDOG=1 pings while every shard's loop turns, none while one shard is stalled
// (busyring-faulty's stall_shard fault: a loop held in a blocking wait), again once it runs;
// none when WATCHDOG_PID names another process; a WatchdogSec= too short is refused at start.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

// The manager's end of $NOTIFY_SOCKET: every datagram the server sends, in arrival order.
class NotifyListener {
 public:
  // A path socket in dir, or with abstract=true the name "@busyring-test-<pid>-<n>".
  NotifyListener(const TempDir& dir, bool abstract) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    static int counter = 0;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socklen_t len = 0;
    if (abstract) {
      name_ = "@busyring-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
      std::copy(name_.begin() + 1, name_.end(), addr.sun_path + 1);  // sun_path[0] stays NUL
      len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    } else {
      name_ = dir.sub("notify.sock");
      std::copy(name_.begin(), name_.end(), addr.sun_path);
      len = static_cast<socklen_t>(sizeof addr);
    }
    REQUIRE(bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) == 0);
  }
  ~NotifyListener() { close(fd_); }
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  const std::string& name() const { return name_; }

  // Receives until a message contains `needle` (true) or the deadline passes (false).
  bool wait_for(const std::string& needle, int timeout_ms) {
    const int64_t deadline = now_ms() + timeout_ms;
    if (index_of(needle, seen_) != npos) return true;
    while (receive(deadline)) {
      if (messages_.back().find(needle) != std::string::npos) return true;
    }
    return false;
  }
  // Everything that arrives within the next timeout_ms.
  void collect(int timeout_ms) {
    const int64_t deadline = now_ms() + timeout_ms;
    while (receive(deadline)) {
    }
  }
  // Marks what has arrived so far as seen: count()/index_of() with `since_mark` look past it.
  void mark() { seen_ = messages_.size(); }
  size_t count(const std::string& needle, bool since_mark) const {
    size_t n = 0;
    for (size_t i = since_mark ? seen_ : 0; i < messages_.size(); ++i)
      n += messages_[i].find(needle) != std::string::npos ? 1 : 0;
    return n;
  }
  static constexpr size_t npos = static_cast<size_t>(-1);
  size_t index_of(const std::string& needle, size_t from = 0) const {
    for (size_t i = from; i < messages_.size(); ++i)
      if (messages_[i].find(needle) != std::string::npos) return i;
    return npos;
  }
  const std::vector<std::string>& messages() const { return messages_; }
  std::string all() const {
    std::string s;
    for (const auto& m : messages_) s += "[" + m + "]\n";
    return s;
  }

 private:
  bool receive(int64_t deadline) {
    const int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return false;
    messages_.emplace_back(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string name_;
  std::vector<std::string> messages_;
  size_t seen_ = 0;
};

std::string faulty_binary() {
  const std::string bin = faulty_bin();
  INFO("fault build " << bin << " (make build/release/busyring-faulty)");
  REQUIRE(access(bin.c_str(), X_OK) == 0);
  return bin;
}

}  // namespace

TEST_CASE("systemd hears STATUS while recovering, READY=1, a serving rate line, then STOPPING=1", "[blackbox][systemd]") {
  TempDir dir;
  for (const bool abstract : {false, true}) {
    INFO((abstract ? "abstract socket" : "path socket"));
    NotifyListener manager(dir, abstract);
    ScopedEnv socket_env("NOTIFY_SOCKET", manager.name());
    // A watchdog meant for another process (WATCHDOG_PID): never pinged.
    ScopedEnv watchdog_env("WATCHDOG_USEC", "1000000");
    ScopedEnv watchdog_pid("WATCHDOG_PID", "1");
    auto server = start_server(dir.sub(abstract ? "data-abstract" : "data"));
    REQUIRE(manager.wait_for("READY=1", 5'000));
    // READY=1 means the server accepts: a POST right away gets its 201.
    Client c(server->port());
    CHECK(roundtrip(c, post_request(usage_body("ready"))).status == 201);
    // The rate line comes every 2 s.
    REQUIRE(manager.wait_for("req/s", 6'000));
    server->stop(SIGTERM);
    manager.collect(500);
    INFO("messages:\n" << manager.all());
    const size_t recovering = manager.index_of("STATUS=recovering the log: ");
    const size_t ready = manager.index_of("READY=1");
    const size_t serving = manager.index_of("STATUS=serving on 0.0.0.0:" + std::to_string(server->port()) + ": ");
    const size_t stopping = manager.index_of("STOPPING=1");
    REQUIRE(recovering != NotifyListener::npos);
    REQUIRE(stopping != NotifyListener::npos);
    CHECK(recovering < ready);
    CHECK(ready < serving);
    CHECK(serving < stopping);
    CHECK(stopping == manager.messages().size() - 1);
    CHECK(manager.messages()[ready].find("STATUS=serving on 0.0.0.0:" + std::to_string(server->port())) !=
          std::string::npos);
    CHECK(manager.messages()[serving].find("storage ok") != std::string::npos);
    CHECK(manager.count("WATCHDOG=1", false) == 0);
  }
}

TEST_CASE("the watchdog is pinged only while every shard's loop turns", "[blackbox][systemd]") {
  TempDir dir;
  NotifyListener manager(dir, false);
  const std::string stall_file = dir.sub("stall");
  ScopedEnv use_bin("BUSYRING_BIN", faulty_binary());
  ScopedEnv socket_env("NOTIFY_SOCKET", manager.name());
  ScopedEnv watchdog_env("WATCHDOG_USEC", "1000000");  // pinged every 500 ms while healthy
  ScopedEnv faults("BUSYRING_FAULTS", "stall_shard@1");
  ScopedEnv stall_env("BUSYRING_STALL_FILE", stall_file);
  auto server = start_server(dir.sub("data"));
  REQUIRE(manager.wait_for("READY=1", 5'000));

  manager.mark();
  manager.collect(2'000);
  INFO("messages:\n" << manager.all());
  CHECK(manager.count("WATCHDOG=1", true) >= 3);

  // Shard 1 blocks; at most the check already under way may still ping, then none for 2 s
  // (four check periods, twice the watchdog interval: systemd would have killed it).
  { std::ofstream(stall_file) << "stall\n"; }
  REQUIRE(server->wait_stderr("fault injection: shard 1 is stalled", 5'000));
  manager.mark();
  manager.collect(2'000);
  CHECK(manager.count("WATCHDOG=1", true) <= 1);
  CHECK(server->stderr_text().find("shard 1: its loop has not turned") != std::string::npos);
  // The other shard still serves in the meantime: it is a watchdog, not a global stall.
  // (Which shard takes a connection is the kernel's choice, so this is not asserted.)

  REQUIRE(unlink(stall_file.c_str()) == 0);
  REQUIRE(server->wait_stderr("shard 1: its loop turns again", 5'000));
  manager.mark();
  manager.collect(1'500);
  CHECK(manager.count("WATCHDOG=1", true) >= 2);

  const ExitStatus st = server->stop(SIGTERM);
  CHECK(st.exited);
  CHECK(st.code == 0);
}

TEST_CASE("a WatchdogSec= under 400 ms is refused at start with one line", "[blackbox][systemd]") {
  TempDir dir;
  NotifyListener manager(dir, false);
  ScopedEnv socket_env("NOTIFY_SOCKET", manager.name());
  ScopedEnv watchdog_env("WATCHDOG_USEC", "200000");
  ServerProcess p({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "1"});
  const ExitStatus st = p.wait_exit(10'000);
  const std::string err = p.stderr_text();
  INFO(describe(st) << "\nstderr:\n" << err);
  CHECK(st.exited);
  CHECK(st.code == 1);
  CHECK(err.find("busyring: WatchdogSec= is 200 ms, under the 400 ms busyring needs") != std::string::npos);
  CHECK(err.find("listening on") == std::string::npos);
  manager.collect(100);
  CHECK(manager.count("READY=1", false) == 0);
}
