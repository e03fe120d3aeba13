// Redis with a password (issue 18 §5): the node reads its credentials from a file, AUTHs on
// every (re)connect, and credentials Redis refuses are one clear log line, 503 with
// Retry-After, and a /healthz that says why, until Redis accepts them (no restart needed).
// The other cluster tests run with a password too (cluster.cpp); these are the ways it fails.
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "cluster_checks.h"
#include "hostile.h"

using namespace blackbox;
using namespace blackbox::cluster;

namespace {

constexpr const char* kRefusedLine = "refuses this node's credentials";

size_t count_lines_with(const std::string& text, std::string_view needle) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}

std::string write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::trunc) << text;
  REQUIRE(chmod(path.c_str(), mode) == 0);
  return path;
}

std::vector<std::string> node_args(const std::string& data_dir, const Redis& redis, const std::string& credentials) {
  std::vector<std::string> args = {"--port", "0", "--bind", "127.0.0.1", "--data-dir", data_dir, "--threads", "1",
                                   "--cpu-affinity", "none", "--id-source", redis.url(), "--id-reserve", "64"};
  if (!credentials.empty()) {
    args.push_back("--id-source-password-file");
    args.push_back(credentials);
  }
  return args;
}

// POST is refused with 503 id_source_unavailable and Retry-After; /healthz is 503 and names
// the credentials; the log says it once however often the node retried.
void check_refused(ServerProcess& node, std::string_view healthz_words) {
  Client c(node.port());
  const Response r = roundtrip(c, post_request(usage_body("refused")));
  INFO(node.stderr_text());
  check_error(r, 503, "id_source_unavailable");
  CHECK(r.header("Retry-After").value_or("") == "1");
  std::string body;
  CHECK(healthz(node.port(), &body) == 503);
  CHECK(body.find(healthz_words) != std::string::npos);
  // Several retries (each a new connection and AUTH) have failed by now...
  const bool retried = wait_until(
      [&] { return metric_value(metrics_text(node.port()), "busyring_id_source_errors_total").value_or(0) >= 4; },
      20'000);
  CHECK(retried);
  // ...and the log said so once.
  CHECK(count_lines_with(node.stderr_text(), kRefusedLine) == 1);
}

}  // namespace

TEST_CASE("cluster: a wrong Redis password is one log line, 503 with Retry-After and /healthz, until Redis takes it",
          "[cluster][redis-auth]") {
  require_cluster_parts();
  TempDir dir;
  REQUIRE(mkdir(dir.sub("redis").c_str(), 0755) == 0);
  Redis redis(dir.sub("redis"));
  const std::string wrong = "a-password-redis-does-not-know";
  const std::string file = write_file(dir.sub("wrong-credentials"), "busyring " + wrong + "\n");
  ServerProcess node(node_args(dir.sub("node"), redis, file));
  REQUIRE(node.wait_listening(20'000));
  check_refused(node, "refuses this node's credentials");
  CHECK(node.stderr_text().find("WRONGPASS") != std::string::npos);  // Redis's own word for it
  CHECK(node.stderr_text().find(wrong) == std::string::npos);        // never the secret
  // Redis is told the password (an operator fixing the ACL): the next retry AUTHs and works.
  REQUIRE(redis.command({"ACL", "SETUSER", "busyring", ">" + wrong}).has_value());
  const bool healthy = wait_until([&] { return healthz(node.port()) == 200; }, 20'000);
  INFO(node.stderr_text());
  REQUIRE(healthy);
  Client c(node.port());
  CHECK(roundtrip(c, post_request(usage_body("after-fix"))).status == 201);
  CHECK(node.stderr_text().find("answers again") != std::string::npos);
  REQUIRE(node.stop().code == 0);
}

TEST_CASE("cluster: a node without a password on a Redis that wants one is told to give the file",
          "[cluster][redis-auth]") {
  require_cluster_parts();
  TempDir dir;
  REQUIRE(mkdir(dir.sub("redis").c_str(), 0755) == 0);
  Redis redis(dir.sub("redis"));
  ServerProcess node(node_args(dir.sub("node"), redis, ""));
  REQUIRE(node.wait_listening(20'000));
  check_refused(node, "credentials");
  CHECK(node.stderr_text().find("give it with --id-source-password-file") != std::string::npos);
  REQUIRE(node.stop().code == 0);
}

TEST_CASE("cluster: an ACL user without the script's commands is refused with what to grant",
          "[cluster][redis-auth]") {
  require_cluster_parts();
  TempDir dir;
  REQUIRE(mkdir(dir.sub("redis").c_str(), 0755) == 0);
  Redis redis(dir.sub("redis"));
  REQUIRE(redis.command({"ACL", "SETUSER", "reader", "on", ">reader-password", "~busyring:*", "+get"}).has_value());
  const std::string file = write_file(dir.sub("reader-credentials"), "reader reader-password\n");
  ServerProcess node(node_args(dir.sub("node"), redis, file));
  REQUIRE(node.wait_listening(20'000));
  check_refused(node, "credentials");
  CHECK(node.stderr_text().find("NOPERM") != std::string::npos);
  REQUIRE(node.stop().code == 0);
}

TEST_CASE("a Redis credentials file that is missing or malformed stops the start with one line",
          "[blackbox][redis-auth]") {
  TempDir dir;
  const std::string redis = "redis://127.0.0.1:1/busyring:ids";  // never reached
  struct Case {
    const char* name;
    std::string file;
    const char* says;
  };
  const Case cases[] = {
      {"missing", dir.sub("absent"), "No such file or directory"},
      {"empty", write_file(dir.sub("empty"), "\n"), "empty"},
      {"three fields", write_file(dir.sub("three"), "user pass extra\n"), "more than two fields"},
      {"two lines", write_file(dir.sub("two"), "pass\nother\n"), "more than one line"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    ServerProcess node({"--port", "0", "--data-dir", dir.sub(std::string("node-") + c.name), "--threads", "1",
                        "--id-source", redis, "--id-source-password-file", c.file});
    const ExitStatus st = node.wait_exit(20'000);
    const std::string err = node.stderr_text();
    INFO(err);
    CHECK(st.exited);
    CHECK(st.code != 0);
    CHECK(count_lines_with(err, "--id-source-password-file") == 1);
    CHECK(err.find(c.says) != std::string::npos);
  }
  // Without a Redis id source the flag means nothing: refused at once.
  ServerProcess local({"--port", "0", "--data-dir", dir.sub("local"), "--id-source-password-file", dir.sub("x")});
  const ExitStatus st = local.wait_exit(20'000);
  CHECK(st.code == 2);
  CHECK(local.stderr_text().find("only for --id-source redis://") != std::string::npos);
}

TEST_CASE("a Redis credentials file every user can read is used, with a warning", "[blackbox][redis-auth]") {
  TempDir dir;
  const std::string file = write_file(dir.sub("open"), "secret\n", 0644);
  ServerProcess node({"--port", "0", "--data-dir", dir.sub("node"), "--threads", "1", "--id-source",
                      "redis://127.0.0.1:1/busyring:ids", "--id-source-password-file", file});
  REQUIRE(node.wait_listening(20'000));
  CHECK(node.stderr_text().find("can be read by every user of this machine") != std::string::npos);
  CHECK(node.stderr_text().find("secret") == std::string::npos);
  REQUIRE(node.stop().code == 0);
}
