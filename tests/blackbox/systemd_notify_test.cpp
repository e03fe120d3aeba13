// systemd's notification protocol, spoken to a fake NOTIFY_SOCKET (a unix datagram socket the
// test binds, as systemd does; also an abstract "@" one): STATUS while recovering, READY=1 once
// the server accepts, a STATUS rate line while serving, STOPPING=1 on SIGTERM, in that order.
// The watchdog: WATCHDOG=1 pings while every shard's loop turns, none while one shard is stalled
// (busyring-faulty's stall_shard fault: a loop held in a blocking wait), again once it runs;
// none when WATCHDOG_PID names another process; a WatchdogSec= too short is refused at start.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"
#include "notify_listener.h"

using namespace blackbox;

namespace {

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
    // "[::]:PORT" under the default --bind ::, "0.0.0.0:PORT" where the kernel has no IPv6.
    const std::string where = server->stderr_text().find("listening on [::]:") != std::string::npos
                                  ? "[::]:" + std::to_string(server->port())
                                  : "0.0.0.0:" + std::to_string(server->port());
    const size_t serving = manager.index_of("STATUS=serving on " + where + ": ");
    const size_t stopping = manager.index_of("STOPPING=1");
    REQUIRE(recovering != NotifyListener::npos);
    REQUIRE(ready != NotifyListener::npos);
    REQUIRE(serving != NotifyListener::npos);
    REQUIRE(stopping != NotifyListener::npos);
    CHECK(recovering < ready);
    CHECK(ready < serving);
    CHECK(serving < stopping);
    CHECK(stopping == manager.messages().size() - 1);
    CHECK(manager.messages()[ready].find("STATUS=serving on " + where) != std::string::npos);
    CHECK(manager.messages()[serving].find("storage ok") != std::string::npos);
    CHECK(manager.count("WATCHDOG=1", false) == 0);
  }
}

TEST_CASE("a restart's recovery STATUS names the log it is about to scan", "[blackbox][systemd]") {
  TempDir dir;
  {
    auto first = start_server(dir.sub("data"));  // 1 MiB segments, two shards
    Client c(first->port());
    for (int i = 0; i < 20; ++i) REQUIRE(roundtrip(c, post_request(usage_body("r" + std::to_string(i)))).status == 201);
    REQUIRE(first->stop().code == 0);
  }
  uint64_t bytes = 0;
  for (const char* shard : {"shard-00", "shard-01"}) {
    for (int seg = 0; seg < 4; ++seg) {
      char name[64];
      std::snprintf(name, sizeof name, "%s/seg-%08d.log", shard, seg);
      struct stat st {};
      if (stat(dir.sub("data/" + std::string(name)).c_str(), &st) == 0) bytes += static_cast<uint64_t>(st.st_size);
    }
  }
  REQUIRE(bytes >= (2u << 20));
  NotifyListener manager(dir, false);
  ScopedEnv socket_env("NOTIFY_SOCKET", manager.name());
  auto second = start_server(dir.sub("data"));
  REQUIRE(manager.wait_for("READY=1", 5'000));
  INFO(manager.all());
  char expected[96];
  std::snprintf(expected, sizeof expected, "STATUS=recovering the log: 0.0 of %.1f MiB (0%%)",
                static_cast<double>(bytes) / 1048576.0);
  CHECK(manager.index_of(expected) == 0);
  CHECK(second->stop().code == 0);
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

  // Shard 1 blocks. The first check after that may still ping (the shard turned since the one
  // before); it comes within 500 ms. Then none for 2 s: four checks, twice the watchdog
  // interval (systemd would have killed it).
  { std::ofstream(stall_file) << "stall\n"; }
  REQUIRE(server->wait_stderr("fault injection: shard 1 is stalled", 5'000));
  manager.collect(1'000);
  manager.mark();
  manager.collect(2'000);
  CHECK(manager.count("WATCHDOG=1", true) == 0);
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
