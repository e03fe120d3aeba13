// Start-up from the command line: --help (exit 0, every flag listed), a bad flag value (exit 2,
// one line naming the flag), and start-up failures (exit 1, one line saying what to fix): a
// port in use, a data dir that cannot be used.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace blackbox;

namespace {

struct Run {
  ExitStatus status;
  std::string out;
  std::string err;
};

Run run_to_exit(std::vector<std::string> args) {
  ServerProcess p(std::move(args));
  Run r;
  r.status = p.wait_exit(10'000);
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// The fatal lines ("busyring: ..."), as opposed to the timestamped log lines before them.
std::vector<std::string> fatal_lines(const std::string& err) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < err.size()) {
    size_t end = err.find('\n', pos);
    if (end == std::string::npos) end = err.size();
    const std::string line = err.substr(pos, end - pos);
    if (line.rfind("busyring: ", 0) == 0) out.push_back(line);
    pos = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("--help exits 0 and lists every flag", "[blackbox]") {
  const Run r = run_to_exit({"--help"});
  INFO(describe(r.status) << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.status.exited);
  CHECK(r.status.code == 0);
  for (const char* flag : {"--port", "--bind", "--threads", "--data-dir", "--ack", "--max-body", "--max-header",
                           "--max-connections", "--idle-timeout", "--request-timeout", "--id-block", "--id-source", "--id-reserve",
                           "--segment-size", "--cpu-affinity", "--help"}) {
    INFO("flag " << flag);
    CHECK(r.out.find(flag) != std::string::npos);
  }
  CHECK(r.out.find("durable") != std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("a bad flag value exits 2 with one line naming the flag", "[blackbox]") {
  TempDir dir;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--port", "abc"}, "--port"},
      {{"--port", "70000"}, "--port"},
      {{"--ack", "maybe"}, "--ack"},
      {{"--ack=sometimes"}, "--ack"},
      {{"--threads", "0"}, "--threads"},
      {{"--max-body", "lots"}, "--max-body"},
      {{"--segment-size", "1500K"}, "--segment-size"},
      {{"--idle-timeout", "soon"}, "--idle-timeout"},
      {{"--cpu-affinity", "3-1"}, "--cpu-affinity"},
      {{"--no-such-flag", "1"}, "--no-such-flag"},
      {{"--port"}, "--port"},
  };
  for (const auto& [args, flag] : cases) {
    std::vector<std::string> full = {"--data-dir", dir.sub("data")};
    full.insert(full.end(), args.begin(), args.end());
    const Run r = run_to_exit(full);
    INFO("args: " << args[0] << " ... -> " << describe(r.status) << "\nstderr:\n" << r.err);
    CHECK(r.status.exited);
    CHECK(r.status.code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.find(flag) != std::string::npos);
  }
  // Nothing was created for a run that never started.
  CHECK(access(dir.sub("data").c_str(), F_OK) != 0);
}

TEST_CASE("a port in use exits 1 with a clear line", "[blackbox]") {
  TestServer first;
  TempDir other;
  SECTION("held by another busyring") {
    const Run r = run_to_exit({"--port", std::to_string(first.port()), "--data-dir", other.path(), "--threads", "2",
                               "--segment-size", "1M"});
    INFO(describe(r.status) << "\nstderr:\n" << r.err);
    CHECK(r.status.exited);
    CHECK(r.status.code == 1);
    const auto fatal = fatal_lines(r.err);
    REQUIRE(fatal.size() == 1);
    CHECK(fatal[0].find("port in use") != std::string::npos);
    CHECK(fatal[0].find(std::to_string(first.port())) != std::string::npos);
    CHECK(r.err.find("listening on") == std::string::npos);
    // The first server is unaffected: its port still reaches it.
    Client c(first.port());
    CHECK(roundtrip(c, get_request("/healthz")).status == 200);
  }
  SECTION("held by a plain listening socket") {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    const std::string port = std::to_string(ntohs(addr.sin_port));
    const Run r = run_to_exit({"--port", port, "--data-dir", other.path(), "--threads", "2", "--segment-size", "1M"});
    close(fd);
    INFO(describe(r.status) << "\nstderr:\n" << r.err);
    CHECK(r.status.exited);
    CHECK(r.status.code == 1);
    const auto fatal = fatal_lines(r.err);
    REQUIRE(fatal.size() == 1);
    CHECK(fatal[0].find("port in use") != std::string::npos);
    CHECK(fatal[0].find(port) != std::string::npos);
  }
}

TEST_CASE("a data dir that cannot be created exits 1 with one line naming it", "[blackbox]") {
  TempDir dir;
  // A regular file where a parent directory of the data dir should be.
  const std::string file = dir.sub("not-a-dir");
  FILE* f = std::fopen(file.c_str(), "w");
  REQUIRE(f != nullptr);
  std::fclose(f);
  const Run r = run_to_exit({"--port", "0", "--data-dir", file + "/data", "--threads", "1"});
  INFO(describe(r.status) << "\nstderr:\n" << r.err);
  CHECK(r.status.exited);
  CHECK(r.status.code == 1);
  CHECK(lines(r.err) == 1);
  CHECK(r.err.find(file) != std::string::npos);
}

TEST_CASE("the listening line names the bound port and the server answers on it", "[blackbox]") {
  TempDir dir;
  ServerProcess p({"--port", "0", "--bind", "127.0.0.1", "--data-dir", dir.path(), "--threads", "1",
                   "--segment-size", "1M"});
  REQUIRE(p.wait_listening());
  const std::string err = p.stderr_text();
  INFO(err);
  CHECK(err.find("listening on 127.0.0.1:" + std::to_string(p.port()) + "\n") != std::string::npos);
  Client c(p.port());
  CHECK(roundtrip(c, get_request("/healthz")).status == 200);
  const ExitStatus st = p.stop();
  CHECK(st.exited);
  CHECK(st.code == 0);
}
