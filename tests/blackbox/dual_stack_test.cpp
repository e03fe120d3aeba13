// Issue 14: `localhost` may resolve to ::1 first, so busyring listens on IPv6 as well. The
// default bind (::, IPV6_V6ONLY=0) serves both families on every shard's SO_REUSEPORT socket;
// --bind takes IPv6 addresses, and the "listening on" line writes them in brackets.
// busyring-load reaches the server through every address of "localhost", as curl does. A
// kernel without IPv6 is emulated by a preloaded shim (no_ipv6_shim.c: AF_INET6 sockets fail
// with EAFNOSUPPORT, as under ipv6.disable=1).
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dial.h"
#include "harness.h"
#include "pg_cluster.h"

using namespace blackbox;

namespace {

std::string tool_bin(const std::string& name) {
  const std::string server = server_bin();
  const size_t slash = server.rfind('/');
  return (slash == std::string::npos ? std::string() : server.substr(0, slash + 1)) + name;
}

int post_status(const std::string& host, uint16_t port, const std::string& tag) {
  const Exchange x = exchange_at(host, port, post_with_type(usage_body(tag), "application/json"));
  INFO(host << ": " << x.error);
  return x.status;
}

}  // namespace

TEST_CASE("the default bind serves IPv6 and IPv4 clients on one port, on every shard", "[blackbox]") {
  TestServer s;
  const std::string err = s.server->stderr_text();
  INFO(err);
  CHECK(err.find("listening on [::]:" + std::to_string(s.port()) + "\n") != std::string::npos);
  size_t posted = 0;
  for (const char* host : {"::1", "127.0.0.1"}) {
    CHECK(post_status(host, s.port(), host) == 201);
    ++posted;
  }
  // Every address "localhost" resolves to here, in its order (curl's first try). A bare
  // debootstrap root has no /etc/hosts and resolves none: ::1 and 127.0.0.1 above cover both.
  const std::vector<std::string> localhost = resolve_all("localhost");
  if (localhost.empty()) WARN("localhost does not resolve here (no /etc/hosts entry)");
  for (const std::string& a : localhost) {
    CHECK(post_status(a, s.port(), "localhost " + a) == 201);
    ++posted;
  }
  // 64 new connections of both families: SO_REUSEPORT spreads them over both shards' sockets
  // (all 64 on one shard has probability 2^-63), so each shard's listener is dual-stack.
  for (int i = 0; i < 64; ++i) {
    CHECK(post_status(i % 2 == 0 ? "::1" : "127.0.0.1", s.port(), "spread " + std::to_string(i)) == 201);
    ++posted;
  }
  const ExitStatus st = s.server->stop();
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  const auto records = read_records(s.dir.path());
  CHECK(records.size() == posted);
  std::set<uint32_t> shards;
  for (const StoredRecord& r : records) shards.insert(r.shard);
  CHECK(shards == std::set<uint32_t>{0, 1});
}

TEST_CASE("--bind takes an IPv6 address and the listening line brackets it", "[blackbox]") {
  for (const char* bind : {"::1", "[::1]"}) {
    INFO("--bind " << bind);
    TempDir dir;
    ServerProcess p({"--port", "0", "--bind", bind, "--data-dir", dir.path(), "--threads", "2", "--segment-size", "1M"});
    REQUIRE(p.wait_listening());
    const std::string err = p.stderr_text();
    INFO(err);
    CHECK(err.find("listening on [::1]:" + std::to_string(p.port()) + "\n") != std::string::npos);
    CHECK(post_status("::1", p.port(), "v6 only") == 201);
    // Bound to ::1 alone: IPv4 loopback is not served.
    CHECK(exchange_at("127.0.0.1", p.port(), post_with_type(usage_body("no"), "")).error.find("refused") !=
          std::string::npos);
    const ExitStatus st = p.stop();
    CHECK(st.exited);
    CHECK(st.code == 0);
  }
  TempDir dir;
  ServerProcess v4({"--port", "0", "--bind", "127.0.0.1", "--data-dir", dir.path(), "--threads", "1"});
  REQUIRE(v4.wait_listening());
  CHECK(v4.stderr_text().find("listening on 127.0.0.1:" + std::to_string(v4.port()) + "\n") != std::string::npos);
  CHECK(exchange_at("::1", v4.port(), post_with_type(usage_body("no"), "")).error.find("refused") != std::string::npos);
}

TEST_CASE("busyring-load reaches the default bind through localhost, whichever family comes first", "[blackbox]") {
  TestServer s;
  // Without a "localhost" here (a bare debootstrap root), the IPv6 loopback stands in for it.
  const std::string host = resolve_all("localhost").empty() ? "[::1]" : "localhost";
  TempDir out;
  const std::string body = out.sub("data.json");
  FILE* f = std::fopen(body.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fputs(usage_body("load").c_str(), f);
  std::fclose(f);
  const CommandRun r = run_command({tool_bin("busyring-load"), "--url",
                                    "http://" + host + ":" + std::to_string(s.port()) + "/api/usages", "--rate", "200",
                                    "--duration", "1s", "--connections", "2", "--body", body, "--json"},
                                   {}, "", 30'000);
  INFO(describe(r.status) << "\nstdout: " << r.out << "\nstderr: " << r.err);
  REQUIRE(r.ok());
  CHECK(r.out.find("\"errors\":{\"total\":0") != std::string::npos);
  CHECK(r.out.find("\"requests\":0,") == std::string::npos);
}

namespace {

// The server started while the no-IPv6 shim is preloaded (the child inherits the environment).
class NoIpv6 {
 public:
  NoIpv6() {
    const std::string shim = tool_bin("no-ipv6.so");
    REQUIRE(access(shim.c_str(), R_OK) == 0);  // `make test` builds it
    set("LD_PRELOAD", shim);
    // Under ASan the shim comes before ASan's runtime in the library list: allowed explicitly.
    const std::string asan = saved_[1].second ? saved_[1].first + ":" : std::string();
    set("ASAN_OPTIONS", asan + "verify_asan_link_order=0");
  }
  ~NoIpv6() {
    restore("LD_PRELOAD", saved_[0]);
    restore("ASAN_OPTIONS", saved_[1]);
  }

 private:
  using Saved = std::pair<std::string, bool>;  // value, was set
  static Saved get(const char* name) {
    const char* v = std::getenv(name);
    return {v != nullptr ? v : "", v != nullptr};
  }
  static void set(const char* name, const std::string& value) { setenv(name, value.c_str(), 1); }
  static void restore(const char* name, const Saved& s) {
    if (s.second) {
      setenv(name, s.first.c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  Saved saved_[2] = {get("LD_PRELOAD"), get("ASAN_OPTIONS")};
};

}  // namespace

TEST_CASE("without IPv6 the default bind falls back to 0.0.0.0; an explicit --bind :: fails", "[blackbox]") {
  TempDir dir;
  std::unique_ptr<ServerProcess> fallback, explicit_v6;
  {
    NoIpv6 no_ipv6;
    fallback = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--port", "0", "--data-dir", dir.sub("a"), "--threads", "2", "--segment-size", "1M"});
    const bool listening = fallback->wait_listening();
    INFO(fallback->stderr_text());
    REQUIRE(listening);
    explicit_v6 = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--port", "0", "--bind", "::", "--data-dir", dir.sub("b"), "--threads", "1"});
  }
  const std::string err = fallback->stderr_text();
  INFO(err);
  CHECK(err.find("IPv6 is not available here") != std::string::npos);
  CHECK(err.find("listening on 0.0.0.0:" + std::to_string(fallback->port()) + "\n") != std::string::npos);
  CHECK(post_status("127.0.0.1", fallback->port(), "v4 fallback") == 201);
  const ExitStatus st = fallback->stop();
  CHECK(st.exited);
  CHECK(st.code == 0);

  const ExitStatus refused = explicit_v6->wait_exit();
  INFO(explicit_v6->stderr_text());
  CHECK(refused.exited);
  CHECK(refused.code == 1);
  CHECK(explicit_v6->stderr_text().find("cannot listen on [::]:0") != std::string::npos);
  CHECK(explicit_v6->stderr_text().find("--bind an IPv4 address") != std::string::npos);
  CHECK(access(dir.sub("b").c_str(), F_OK) != 0);  // nothing made on disk
}
