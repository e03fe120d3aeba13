// Issue 14: the command line people type by habit, on all three binaries. --version names the
// version, the git commit and the build mode; -h is --help; sizes and durations take the forms
// operators write; a bad value exits 2 with one line before anything touches the disk (a bad
// --bind used to exit 1 after creating the data dir and its LOCK).
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "dial.h"
#include "harness.h"
#include "pg_cluster.h"

using namespace blackbox;

namespace {

const std::vector<std::string> kTools = {"busyring", "busyring-log", "busyring-load"};

std::string build_dir() {
  const std::string server = server_bin();
  const size_t slash = server.rfind('/');
  return slash == std::string::npos ? std::string(".") : server.substr(0, slash);
}

std::string tool_bin(const std::string& name) { return build_dir() + "/" + name; }

// What the Makefile compiled in: `git rev-parse --short HEAD`, or "unknown" outside a checkout.
std::string expected_commit() {
  if (access(".git", F_OK) != 0) return "unknown";
  const CommandRun r = run_command({"/usr/bin/git", "rev-parse", "--short", "HEAD"});
  if (!r.ok()) return "unknown";
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("--version on every tool prints version, git commit and build mode", "[blackbox]") {
  const std::string dir = build_dir();
  const std::string mode = dir.substr(dir.rfind('/') + 1);  // build/release -> release
  const std::string commit = expected_commit();
  for (const std::string& tool : kTools) {
    INFO(tool);
    const CommandRun r = run_command({tool_bin(tool), "--version"});
    INFO(describe(r.status) << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.ok());
    CHECK(r.err.empty());
    CHECK(std::regex_match(r.out, std::regex(tool + R"( [0-9]+\.[0-9]+\.[0-9]+ \(commit )" + commit + ", " + mode +
                                             R"( build\)\n)")));
  }
}

TEST_CASE("-h is --help on every tool, and both list --version", "[blackbox]") {
  for (const std::string& tool : kTools) {
    INFO(tool);
    const CommandRun h = run_command({tool_bin(tool), "-h"});
    const CommandRun help = run_command({tool_bin(tool), "--help"});
    CHECK(h.ok());
    CHECK(help.ok());
    CHECK(h.err.empty());
    CHECK(h.out == help.out);
    CHECK(h.out.find("-h, --help") != std::string::npos);
    CHECK(h.out.find("--version") != std::string::npos);
  }
}

TEST_CASE("a bad value exits 2 with one line naming it, before anything touches the disk", "[blackbox]") {
  const std::vector<std::vector<std::string>> server_cases = {
      {"--bind", "nope"},          {"--bind", "1.2.3"},           {"--bind", "localhost"},
      {"--bind=::1::"},            {"--bind", "127.0.0.1:80"},    {"--idle-timeout", "10S"},
      {"--request-timeout", "1500us"}, {"--log-interval", "25h"}, {"--max-body", "1X"},
      {"--segment-size", "1.5M"},  {"--strict-content-type=yes"}, {"-x"},
  };
  for (const auto& args : server_cases) {
    INFO("busyring " << args[0] << (args.size() > 1 ? " " + args[1] : ""));
    TempDir dir;
    std::vector<std::string> argv = {server_bin(), "--data-dir", dir.sub("data")};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandRun r = run_command(argv);
    INFO(describe(r.status) << "\nstderr: " << r.err);
    CHECK(r.status.exited);
    CHECK(r.status.code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.err.rfind("busyring: ", 0) == 0);
    CHECK(r.err.find(args[0].substr(0, args[0].find('='))) != std::string::npos);
    CHECK(r.out.empty());
    CHECK(access(dir.sub("data").c_str(), F_OK) != 0);  // no data dir, no LOCK
  }
  TempDir dir;
  const std::vector<std::vector<std::string>> tool_cases = {
      {"busyring-load", "--duration", "10S"},
      {"busyring-load", "--rate", "fast"},
      {"busyring-load", "--timeout", "2h"},
      {"busyring-load", "--url", "ftp://x/"},
      {"busyring-log", "export", dir.path(), "--since-checkpoint", dir.sub("cp"), "--settle", "10S"},
      {"busyring-log", "verify", dir.path(), "--format", "csv"},
  };
  for (auto args : tool_cases) {
    INFO(args[0] << " " << args[1] << " " << args[2]);
    args[0] = tool_bin(args[0]);
    const CommandRun r = run_command(args);
    INFO(describe(r.status) << "\nstderr: " << r.err);
    CHECK(r.status.exited);
    CHECK(r.status.code == 2);
    CHECK(lines(r.err) == 1);
    CHECK(r.out.empty());
  }
  CHECK(access(dir.sub("cp.next").c_str(), F_OK) != 0);
}

TEST_CASE("a valid address this machine does not have exits 1 before the data dir is made", "[blackbox]") {
  TempDir dir;
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address.
  const CommandRun r = run_command({server_bin(), "--bind", "192.0.2.1", "--port", "0", "--data-dir", dir.sub("data")});
  INFO(describe(r.status) << "\nstderr: " << r.err);
  CHECK(r.status.exited);
  CHECK(r.status.code == 1);
  CHECK(r.err.find("busyring: cannot listen on 192.0.2.1:") != std::string::npos);
  CHECK(access(dir.sub("data").c_str(), F_OK) != 0);
}

TEST_CASE("durations and sizes in operator forms take effect", "[blackbox]") {
  // 1MiB of --max-body: an 80 KiB body, over the 64K default, is stored.
  TestServer s({"--idle-timeout", "24h", "--request-timeout", "1.5s", "--max-body", "1MiB", "--max-header", "16KiB",
                "--log-interval", "1m", "--segment-size", "4MiB"});
  const std::string big = usage_body(std::string(80 * 1024, 'b'));
  CHECK(exchange_at("127.0.0.1", s.port(), post_with_type(big, "application/json")).status == 201);
  // --request-timeout 1.5s: a request left incomplete is answered 408 after 1.5 s, not 10 s.
  Client slow(s.port());
  const int64_t start = now_ms();
  REQUIRE(slow.send("POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"));
  const auto r = slow.read_response(8'000);
  REQUIRE(r.has_value());
  CHECK(r->status == 408);
  const int64_t waited = now_ms() - start;
  CHECK(waited >= 1'400);
  CHECK(waited < 8'000);
}
