// The status codes of the contract, seen from a raw socket: 201, and each error with its JSON
// body, its headers (Allow) and what happens to the connection after it (kept, or closed when
// framing is lost). Servers run with --max-body 1K --max-header 1K so the limits are cheap to hit.
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace blackbox;

namespace {

const std::vector<std::string> kSmallLimits = {"--max-body", "1K", "--max-header", "1K"};

// A valid POST on c must still get a 201: the connection survived the previous answer.
void check_connection_usable(Client& c) {
  const Response r = roundtrip(c, post_request(usage_body("after-error")));
  CHECK(r.status == 201);
  CHECK(id_of(r) > 0);
}

}  // namespace

TEST_CASE("POST /api/usages answers 201 with a JSON id", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  std::set<uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    const Response r = roundtrip(c, post_request(usage_body("created-" + std::to_string(i))));
    INFO("body " << r.body);
    CHECK(r.status == 201);
    CHECK(r.version == "HTTP/1.1");
    CHECK(r.header("Content-Type").value_or("") == "application/json");
    const uint64_t id = id_of(r);
    CHECK(id > 0);
    ids.insert(id);
  }
  CHECK(ids.size() == 3);
}

TEST_CASE("bad JSON gets 400 bad_json and the connection stays usable", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  for (const char* body : {"{\"patientId\":", "not json", "{\"patientId\":\"1\",}", "", "{} {}",
                           "{\"patientId\":\"\xff\",\"timestamp\":\"t\",\"medication\":\"m\"}",
                           "{\"patientId\":\"1\",\"timestamp\":\"t\",\"medication\":\"m\"} x"}) {
    INFO("body: " << body);
    check_error(roundtrip(c, post_request(body)), 400, "bad_json");
    check_connection_usable(c);
  }
}

TEST_CASE("malformed HTTP gets 400 and the connection is closed", "[blackbox]") {
  TestServer s(kSmallLimits);
  const std::vector<std::string> requests = {
      "GARBAGE\r\n\r\n",
      "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
      "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /healthz HTTP/1.1\r\nHo(st: x\r\n\r\n",
      "GET /healthz HTTP/1.1\nHost: x\n\n",
      "GET /healthz HTTP/1.1\r\n\tX: 1\r\n\r\n",
      "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length : 2\r\n\r\n{}",
  };
  for (const auto& request : requests) {
    INFO("request: " << request);
    Client c(s.port());
    check_error(roundtrip(c, request), 400, "malformed_http");
    CHECK(c.closed_by_peer());
  }
}

// RFC 9112 5.1: "A server MUST reject, with a response status code of 400 (Bad Request), any
// received request message that contains whitespace between a header field name and colon."
// A field name is a token (RFC 9110 5.1), so a space inside one is malformed too.
TEST_CASE("whitespace in or after a header field name gets 400 and the connection is closed",
          "[blackbox]") {
  TestServer s(kSmallLimits);
  for (const char* request : {"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n",
                              "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For : 1.2.3.4\r\n\r\n",
                              "GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: x\r\n\r\n"}) {
    INFO("request: " << request);
    Client c(s.port());
    const Response r = roundtrip(c, request);
    check_error(r, 400, "malformed_http");
    if (r.status == 400) CHECK(c.closed_by_peer());  // (a kept connection would cost the wait)
  }
}

TEST_CASE("HTTP/2.0 on the request line gets 505 and the connection is closed", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  check_error(roundtrip(c, "GET /healthz HTTP/2.0\r\n\r\n"), 505, "http_version_not_supported");
  CHECK(c.closed_by_peer());
}

TEST_CASE("an unknown path gets 404 and the connection stays usable", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  check_error(roundtrip(c, get_request("/nope")), 404, "not_found");
  check_error(roundtrip(c, get_request("/api/usages/1")), 404, "not_found");
  check_error(roundtrip(c, get_request("/")), 404, "not_found");
  const std::string body = usage_body("wrong-path");
  check_error(roundtrip(c, "POST /api/usage HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body),
              404, "not_found");
  check_connection_usable(c);
}

// "Query strings are ignored" (README): the path before the '?' routes the request, and what
// follows changes nothing, whether the path is known or not.
TEST_CASE("a query string is ignored: the path alone routes the request", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  std::map<uint64_t, std::string> created;
  for (const std::string target : {"/api/usages?x=1", "/api/usages?", "/api/usages?a=1&b=%20&c=/api/usages"}) {
    const std::string body = usage_body("query " + target);
    const Response r = roundtrip(c, "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    INFO(target << ": " << r.status << " " << r.body);
    CHECK(r.status == 201);
    CHECK(id_of(r) > 0);
    created[id_of(r)] = body;
  }
  Response r = roundtrip(c, get_request("/healthz?x"));
  CHECK(r.status == 200);
  CHECK(r.body == R"({"status":"ok"})");
  r = roundtrip(c, get_request("/metrics?name[]=busyring_records_written_total"));
  CHECK(r.status == 200);
  CHECK(r.body.find("\nbusyring_records_written_total 3\n") != std::string::npos);
  for (const char* target : {"/nope?x=1", "/api/usagesx?y", "/?/api/usages", "/healthzz?x", "/api/usages/?x"})
    check_error(roundtrip(c, get_request(target)), 404, "not_found");
  r = roundtrip(c, get_request("/api/usages?x=1"));
  check_error(r, 405, "method_not_allowed");
  CHECK(r.header("Allow").value_or("") == "POST");
  r = roundtrip(c, "POST /healthz?x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  check_error(r, 405, "method_not_allowed");
  CHECK(r.header("Allow").value_or("") == "GET, HEAD");

  // Exactly the three posts are on disk, under the ids they were answered with.
  const ExitStatus st = s.server->stop();
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  std::map<uint64_t, std::string> stored;
  for (const auto& rec : read_records(s.dir.path())) stored[rec.id] = rec.body;
  CHECK(stored == created);
}

TEST_CASE("a wrong method gets 405 with Allow", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  Response r = roundtrip(c, get_request("/api/usages"));
  check_error(r, 405, "method_not_allowed");
  CHECK(r.header("Allow").value_or("") == "POST");

  r = roundtrip(c, "DELETE /api/usages HTTP/1.1\r\nHost: x\r\n\r\n");
  check_error(r, 405, "method_not_allowed");
  CHECK(r.header("Allow").value_or("") == "POST");

  // The body of a refused POST is skipped, not parsed as the next request.
  r = roundtrip(c, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  check_error(r, 405, "method_not_allowed");
  CHECK(r.header("Allow").value_or("") == "GET, HEAD");

  r = roundtrip(c, "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  check_error(r, 405, "method_not_allowed");
  CHECK(r.header("Allow").value_or("") == "GET, HEAD");
  check_connection_usable(c);
}

TEST_CASE("a POST without Content-Length gets 411", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  check_error(roundtrip(c, "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n"), 411,
              "length_required");
  check_connection_usable(c);
}

TEST_CASE("a body over --max-body gets 413 and the connection is closed", "[blackbox]") {
  TestServer s(kSmallLimits);
  std::string big = usage_body(std::string(1100, 'x'));
  REQUIRE(big.size() > 1024);
  SECTION("announced by Content-Length") {
    Client c(s.port());
    check_error(roundtrip(c, post_request(big)), 413, "body_too_large");
    CHECK(c.closed_by_peer());
  }
  SECTION("found while de-chunking") {
    Client c(s.port());
    std::string request =
        "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t off = 0; off < big.size(); off += 256) {
      const std::string piece = big.substr(off, 256);
      char size[16];
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      request += size + piece + "\r\n";
    }
    request += "0\r\n\r\n";
    check_error(roundtrip(c, request), 413, "body_too_large");
    CHECK(c.closed_by_peer());
  }
  SECTION("a body of exactly --max-body is accepted") {
    Client c(s.port());
    std::string exact = usage_body("");
    exact.insert(exact.size() - 2, std::string(1024 - exact.size(), 'y'));
    REQUIRE(exact.size() == 1024);
    CHECK(roundtrip(c, post_request(exact)).status == 201);
  }
}

TEST_CASE("with --strict-content-type, a Content-Type that is not JSON gets 415", "[blackbox]") {
  std::vector<std::string> strict = kSmallLimits;
  strict.push_back("--strict-content-type");
  TestServer s(strict);
  Client c(s.port());
  const std::string body = usage_body("plain");
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "application/jsonx"}) {
    INFO("Content-Type: " << type);
    const std::string request = std::string("POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: ") + type +
                                "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    check_error(roundtrip(c, request), 415, "unsupported_media_type");
  }
  // Parameters and case do not matter; +json types are JSON.
  for (const char* type : {"application/json; charset=utf-8", "Application/JSON", "application/vnd.usage+json"}) {
    INFO("Content-Type: " << type);
    const std::string request = std::string("POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: ") + type +
                                "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    CHECK(roundtrip(c, request).status == 201);
  }
}

TEST_CASE("a huge header gets 431 and the connection is closed", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  const std::string request = get_request("/healthz", "X-Big: " + std::string(2000, 'a') + "\r\n");
  check_error(roundtrip(c, request), 431, "headers_too_large");
  CHECK(c.closed_by_peer());
}

TEST_CASE("too many headers get 431 and a too long target gets 414, each closing the connection",
          "[blackbox]") {
  TestServer s({"--max-header", "64K"});
  SECTION("200 small headers") {
    std::string headers;
    for (int i = 0; i < 200; ++i) headers += "X-H" + std::to_string(i) + ": v\r\n";
    Client c(s.port());
    check_error(roundtrip(c, get_request("/healthz", headers)), 431, "headers_too_large");
    CHECK(c.closed_by_peer());
  }
  SECTION("a 3000-byte target") {
    Client c(s.port());
    check_error(roundtrip(c, get_request("/healthz?" + std::string(3000, 'q'))), 414, "target_too_long");
    CHECK(c.closed_by_peer());
  }
}

TEST_CASE("GET /healthz answers 200 {\"status\":\"ok\"}", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  const Response r = roundtrip(c, get_request("/healthz"));
  CHECK(r.status == 200);
  CHECK(r.header("Content-Type").value_or("") == "application/json");
  CHECK(r.body == R"({"status":"ok"})");
}

TEST_CASE("GET /metrics is Prometheus text with request and record counters", "[blackbox]") {
  TestServer s(kSmallLimits);
  Client c(s.port());
  REQUIRE(roundtrip(c, post_request(usage_body("metrics"))).status == 201);
  check_error(roundtrip(c, get_request("/nope")), 404, "not_found");
  const Response r = roundtrip(c, get_request("/metrics"));
  INFO(r.body);
  CHECK(r.status == 200);
  CHECK(r.header("Content-Type").value_or("").rfind("text/plain", 0) == 0);
  CHECK(r.body.find("# TYPE busyring_requests_total counter\n") != std::string::npos);
  CHECK(r.body.find("# TYPE busyring_records_written_total counter\n") != std::string::npos);
  CHECK(r.body.find("busyring_requests_total{route=\"/api/usages\",code=\"201\"} 1\n") != std::string::npos);
  CHECK(r.body.find("code=\"404\"} 1\n") != std::string::npos);
  CHECK(r.body.find("\nbusyring_records_written_total 1\n") != std::string::npos);
  // Every line is a comment or "name[{labels}] value".
  size_t pos = 0;
  while (pos < r.body.size()) {
    const size_t end = r.body.find('\n', pos);
    REQUIRE(end != std::string::npos);
    const std::string line = r.body.substr(pos, end - pos);
    INFO("line: " << line);
    CHECK((line.rfind("# ", 0) == 0 || ((line.rfind("busyring_", 0) == 0 || line.rfind("process_", 0) == 0) &&
                                         line.find(' ') != std::string::npos)));
    pos = end + 1;
  }
}

// /metrics must count requests "by route and status": every status the server answers with.
TEST_CASE("every status the server answers with is counted in busyring_requests_total",
          "[blackbox]") {
  TestServer s({"--max-body", "1K", "--strict-content-type"});  // for the 415
  const std::string body = usage_body("counted");
  const std::vector<std::pair<std::string, int>> requests = {
      {post_request(body), 201},
      {post_request("{nope"), 400},
      {get_request("/nope"), 404},
      {get_request("/api/usages"), 405},
      {"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n", 411},
      {post_request(usage_body(std::string(1100, 'b'))), 413},
      {get_request("/healthz?" + std::string(3000, 'q')), 414},
      {"POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}", 415},
      {post_request(body, "Expect: teapot\r\n"), 417},
      {post_request("[]"), 422},
      {get_request("/healthz", "X-Big: " + std::string(9000, 'h') + "\r\n"), 431},
      {"GET /healthz HTTP/2.0\r\n\r\n", 505},
  };
  for (const auto& [request, status] : requests) {
    Client c(s.port());  // a fresh connection each: some of them close it
    CHECK(roundtrip(c, request).status == status);
  }
  Client c(s.port());
  const Response m = roundtrip(c, get_request("/metrics"));
  for (const auto& [request, status] : requests) {
    INFO("status " << status << " in\n" << m.body);
    CHECK(m.body.find("busyring_requests_total{") != std::string::npos);
    CHECK(m.body.find(",code=\"" + std::to_string(status) + "\"} 1\n") != std::string::npos);
  }
}
