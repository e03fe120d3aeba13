// Issue 18 §3: bearer tokens. The real binary with --auth-token-file: a POST without a token
// or with a wrong one is refused (401, the RFC 6750 challenge, the JSON error body) and stores
// nothing; either of two rotated tokens is accepted; SIGHUP re-reads the file on a live
// keep-alive connection (the old token refused, the new one accepted, the connection kept);
// a bad file on reload or at start changes nothing and names no token; /healthz stays open.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "harness.h"

using namespace blackbox;

namespace {

const std::string kOld = "old-token-0123456789abcdefABCDEF";
const std::string kNew = "new-token_9876543210.~+/zyxwvu==";
const std::string kWrong = "not-a-token-we-know-0123456789";

std::string bearer(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

// Replaces the file whole (written aside, then renamed over), as an operator rotating it should.
void write_tokens(const std::string& path, const std::string& text) {
  const std::string aside = path + ".new";
  {
    std::ofstream out(aside, std::ios::trunc);
    out << text;
    REQUIRE(out.good());
  }
  REQUIRE(chmod(aside.c_str(), 0600) == 0);
  REQUIRE(std::rename(aside.c_str(), path.c_str()) == 0);
}

// A token file in its own directory, and a server that asks for its tokens.
struct AuthServer {
  explicit AuthServer(const std::string& tokens, std::vector<std::string> extra = {}) {
    write_tokens(token_file(), tokens);
    extra.insert(extra.begin(), {"--auth-token-file", token_file()});
    server = start_server(data.path(), extra);
  }
  std::string token_file() const { return files.sub("tokens"); }
  uint16_t port() const { return server->port(); }
  // SIGHUP, then the reload's line (each call waits for text no earlier reload logged).
  void reload(const std::string& expect) {
    REQUIRE(kill(server->pid(), SIGHUP) == 0);
    const bool logged = server->wait_stderr(expect);
    INFO(server->stderr_text());
    REQUIRE(logged);
  }
  TempDir files;
  TempDir data;
  std::unique_ptr<ServerProcess> server;
};

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

void check_no_token_in(const std::string& text) {
  CHECK(text.find(kOld) == std::string::npos);
  CHECK(text.find(kNew) == std::string::npos);
  CHECK(text.find(kWrong) == std::string::npos);
}

}  // namespace

TEST_CASE("auth: no token or a wrong one is 401 with the challenge and stores nothing; rotated tokens are 201",
          "[blackbox][auth]") {
  AuthServer s("# rotation: both for now\n" + kOld + "\n\n" + kNew + "\n");
  Client c(s.port());
  const Response none = roundtrip(c, post_request(usage_body("no token")));
  check_error(none, 401, "unauthorized");
  CHECK(none.header("WWW-Authenticate") == std::optional<std::string>("Bearer"));
  const Response wrong = roundtrip(c, post_request(usage_body("wrong token"), bearer(kWrong)));
  check_error(wrong, 401, "invalid_token");
  CHECK(wrong.header("WWW-Authenticate") == std::optional<std::string>("Bearer error=\"invalid_token\""));
  const Response prefix = roundtrip(c, post_request(usage_body("prefix"), bearer(kOld.substr(0, 20))));
  check_error(prefix, 401, "invalid_token");
  const Response basic = roundtrip(c, post_request(usage_body("basic"), "Authorization: Basic dXNlcjpwYXNz\r\n"));
  check_error(basic, 401, "unauthorized");  // another scheme: no error code (RFC 6750 3.1)
  const Response two_words = roundtrip(c, post_request(usage_body("two words"), "Authorization: Bearer a b\r\n"));
  check_error(two_words, 400, "invalid_request");
  CHECK(two_words.header("WWW-Authenticate") == std::optional<std::string>("Bearer error=\"invalid_request\""));
  // The same connection goes on (401 keeps it), and either token of the file is accepted.
  const Response old_ok = roundtrip(c, post_request(usage_body("old token"), bearer(kOld)));
  CHECK(old_ok.status == 201);
  const Response new_ok = roundtrip(c, post_request(usage_body("new token"), "authorization: bearer " + kNew + "\r\n"));
  CHECK(new_ok.status == 201);
  // /healthz asks no token (a load balancer's check carries none); /metrics on the public port does.
  CHECK(roundtrip(c, get_request("/healthz")).status == 200);
  check_error(roundtrip(c, get_request("/metrics")), 401, "unauthorized");
  const Response metrics = roundtrip(c, get_request("/metrics", bearer(kNew)));
  REQUIRE(metrics.status == 200);
  CHECK(metrics.body.find("busyring_auth_refusals_total{reason=\"missing\"} 2\n") != std::string::npos);
  CHECK(metrics.body.find("busyring_auth_refusals_total{reason=\"invalid\"} 2\n") != std::string::npos);
  CHECK(metrics.body.find("busyring_auth_refusals_total{reason=\"malformed\"} 2\n") != std::string::npos);
  CHECK(metrics.body.find("busyring_requests_total{route=\"/api/usages\",code=\"401\"} 4\n") != std::string::npos);
  const ExitStatus st = s.server->stop(SIGTERM);
  CHECK(st.code == 0);
  // Only the accepted requests were stored.
  const auto records = read_records(s.data.path());
  REQUIRE(records.size() == 2);
  std::vector<std::string> bodies = {records[0].body, records[1].body};
  CHECK(std::count(bodies.begin(), bodies.end(), usage_body("old token")) == 1);
  CHECK(std::count(bodies.begin(), bodies.end(), usage_body("new token")) == 1);
  check_no_token_in(s.server->stderr_text());
}

TEST_CASE("auth: SIGHUP rotates the tokens on a live keep-alive connection; a bad file keeps the old ones",
          "[blackbox][auth]") {
  AuthServer s(kOld + "\n");
  Client c(s.port());
  CHECK(roundtrip(c, post_request(usage_body("before"), bearer(kOld))).status == 201);
  check_error(roundtrip(c, post_request(usage_body("too early"), bearer(kNew))), 401, "invalid_token");

  write_tokens(s.token_file(), "# rotated\n" + kNew + "\n");
  s.reload("reloaded: 1 tokens accepted (were 1)");
  // The same connection, never dropped: the old token is refused now, the new one accepted.
  check_error(roundtrip(c, post_request(usage_body("old after"), bearer(kOld))), 401, "invalid_token");
  CHECK(roundtrip(c, post_request(usage_body("after"), bearer(kNew))).status == 201);
  Client fresh(s.port());
  CHECK(roundtrip(fresh, post_request(usage_body("fresh"), bearer(kNew))).status == 201);

  // A file that cannot be used (a token too short, then none at all): the old set stays.
  write_tokens(s.token_file(), kNew + "\nshort\n");
  s.reload("line 2 is shorter than 16");
  CHECK(roundtrip(c, post_request(usage_body("kept"), bearer(kNew))).status == 201);
  write_tokens(s.token_file(), "# nothing yet\n");
  s.reload("holds no token");
  CHECK(roundtrip(c, post_request(usage_body("kept again"), bearer(kNew))).status == 201);
  check_error(roundtrip(c, post_request(usage_body("old still out"), bearer(kOld))), 401, "invalid_token");
  CHECK(s.server->running());

  const ExitStatus st = s.server->stop(SIGTERM);
  CHECK(st.code == 0);
  CHECK(read_records(s.data.path()).size() == 5);
  const std::string err = s.server->stderr_text();
  INFO(err);
  CHECK(count_of(err, "keeping the 1 tokens loaded before") == 2);
  CHECK(err.find("short\n") == std::string::npos);
  check_no_token_in(err);
}

TEST_CASE("auth: an unreadable, empty or bad token file at start is one line and exit 1", "[blackbox][auth]") {
  TempDir files, data;
  const std::string bad = files.sub("bad");
  write_tokens(bad, "# ours\n" + kOld + "\n" + kOld.substr(0, 10) + "\n");
  const std::string empty = files.sub("empty");
  write_tokens(empty, "# nothing\n\n");
  struct Row {
    std::string file;
    std::string says;
  };
  for (const Row& row : std::vector<Row>{{files.sub("missing"), "No such file"},
                                         {empty, "holds no token"},
                                         {bad, "line 3 is shorter than 16"}}) {
    ServerProcess p({"--port", "0", "--data-dir", data.sub("d"), "--auth-token-file", row.file});
    const ExitStatus st = p.wait_exit();
    const std::string err = p.stderr_text();
    INFO(err);
    CHECK(st.exited);
    CHECK(st.code == 1);
    CHECK(count_of(err, "\n") == 1);
    CHECK(err.find("--auth-token-file " + row.file) != std::string::npos);
    CHECK(err.find(row.says) != std::string::npos);
    check_no_token_in(err);
    CHECK(err.find(kOld.substr(0, 10)) == std::string::npos);
  }
  struct stat st {};
  CHECK(stat(data.sub("d").c_str(), &st) != 0);  // nothing was created
}
