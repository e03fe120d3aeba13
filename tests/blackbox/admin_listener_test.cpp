// Issue 18 §3: --admin-bind moves /metrics to a second listener. On the admin port /metrics
// and /healthz answer with no token asked, and the API is not served (404, nothing stored);
// the public port answers 404 for /metrics and serves the API as before. A bad or taken
// address is refused at start.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "harness.h"
#include "program.h"

using namespace blackbox;

namespace {

// The port of "admin listener on 127.0.0.1:PORT: ..." in the server's stderr (0 if absent).
uint16_t admin_port(const ServerProcess& server) {
  const std::string err = server.stderr_text();
  const std::string needle = "admin listener on ";
  const size_t at = err.find(needle);
  if (at == std::string::npos) return 0;
  const size_t end = err.find(": ", at);
  const std::string where = err.substr(at + needle.size(), end - at - needle.size());
  return static_cast<uint16_t>(std::stoul(where.substr(where.rfind(':') + 1)));
}

}  // namespace

TEST_CASE("admin listener: /metrics, /status and /healthz there, both 404 on the public port, no API there",
          "[blackbox][admin]") {
  TestServer s({"--admin-bind", "127.0.0.1:0"});
  const uint16_t admin = admin_port(*s.server);
  INFO(s.server->stderr_text());
  REQUIRE(admin != 0);
  REQUIRE(admin != s.port());

  Client pub(s.port());
  CHECK(roundtrip(pub, post_request(usage_body("public"))).status == 201);
  const Response public_metrics = roundtrip(pub, get_request("/metrics"));
  const std::string message = check_error(public_metrics, 404, "not_found");
  CHECK(message.find("/metrics") == std::string::npos);  // the public port does not name it
  CHECK(roundtrip(pub, get_request("/healthz")).status == 200);
  check_error(roundtrip(pub, get_request("/status")), 404, "not_found");  // the status page moved too

  Client adm(admin);
  const Response metrics = roundtrip(adm, get_request("/metrics"));
  REQUIRE(metrics.status == 200);
  CHECK(metrics.header("Content-Type").value_or("").find("text/plain") == 0);
  CHECK(metrics.body.find("busyring_requests_total{route=\"/api/usages\",code=\"201\"} 1\n") != std::string::npos);
  CHECK(metrics.body.find("busyring_rejections_total{reason=\"not_found_public\"} 2\n") != std::string::npos);
  CHECK(roundtrip(adm, get_request("/healthz")).status == 200);
  const Response status_page = roundtrip(adm, get_request("/status"));
  CHECK(status_page.status == 200);
  CHECK(status_page.header("Content-Type").value_or("").find("text/html") == 0);
  // The admin port serves no API: it asks no token, so it must not take records.
  check_error(roundtrip(adm, post_request(usage_body("via admin"))), 404, "not_found");
  CHECK(roundtrip(adm, get_request("/metrics")).status == 200);  // the same connection goes on

  const ExitStatus st = s.server->stop(SIGTERM);
  CHECK(st.code == 0);
  const auto records = read_records(s.dir.path());
  REQUIRE(records.size() == 1);
  CHECK(records[0].body == usage_body("public"));
}

TEST_CASE("admin listener with tokens: the admin port asks none, the public port has no /metrics at all",
          "[blackbox][admin][auth]") {
  TempDir files;
  const std::string tokens = files.sub("tokens");
  const std::string token = "admin-test-token-0123456789";
  std::ofstream(tokens) << token << "\n";
  REQUIRE(chmod(tokens.c_str(), 0600) == 0);
  TestServer s({"--admin-bind", "127.0.0.1:0", "--auth-token-file", tokens});
  const uint16_t admin = admin_port(*s.server);
  REQUIRE(admin != 0);
  Client adm(admin);
  CHECK(roundtrip(adm, get_request("/metrics")).status == 200);
  Client pub(s.port());
  check_error(roundtrip(pub, get_request("/metrics", "Authorization: Bearer " + token + "\r\n")), 404, "not_found");
  check_error(roundtrip(pub, post_request(usage_body("no token"))), 401, "unauthorized");
  CHECK(roundtrip(pub, post_request(usage_body("token"), "Authorization: Bearer " + token + "\r\n")).status == 201);
  CHECK(s.server->stop(SIGTERM).code == 0);
}

TEST_CASE("admin listener: a bad --admin-bind is a flag error, a taken port a start error", "[blackbox][admin]") {
  TempDir data;
  for (const char* bad : {"127.0.0.1", "localhost:9100", "::1:9100", "127.0.0.1:70000"}) {
    ServerProcess p({"--port", "0", "--data-dir", data.sub("d"), "--admin-bind", bad});
    const ExitStatus st = p.wait_exit();
    INFO(bad << ": " << p.stderr_text());
    CHECK(st.code == 2);
    CHECK(p.stderr_text().find("--admin-bind") != std::string::npos);
  }
  TestServer first;
  ServerProcess p({"--port", "0", "--data-dir", data.sub("d"), "--admin-bind",
                   "127.0.0.1:" + std::to_string(first.port())});
  const ExitStatus st = p.wait_exit();
  const std::string err = p.stderr_text();
  INFO(err);
  CHECK(st.code == 1);
  CHECK(err.find("--admin-bind: port in use") != std::string::npos);
  CHECK(err.find('\n') == err.size() - 1);
}
