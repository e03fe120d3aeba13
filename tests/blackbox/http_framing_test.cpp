// Connection handling and message framing: HTTP/1.0 (closes unless keep-alive is asked for),
// Connection: close, chunked request bodies (stored de-chunked), Expect: 100-continue (the
// interim 100 comes before the body is sent; a refused head gets its answer instead), requests
// split across writes, and HEAD (a response without a body).
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

std::string post10(std::string_view body, std::string_view extra = "") {
  std::string r = "POST /api/usages HTTP/1.0\r\nContent-Type: application/json\r\n";
  r += extra;
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

std::string chunk(std::string_view data, std::string_view ext = "") {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", data.size());
  return std::string(size) + std::string(ext) + "\r\n" + std::string(data) + "\r\n";
}

const char* const kChunkedHead =
    "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n";

}  // namespace

TEST_CASE("an HTTP/1.0 request gets its response, then the connection closes", "[blackbox]") {
  TestServer s;
  SECTION("POST") {
    Client c(s.port());
    const Response r = roundtrip(c, post10(usage_body("http10")));
    CHECK(r.status == 201);
    CHECK(id_of(r) > 0);
    CHECK(c.closed_by_peer());
  }
  SECTION("GET") {
    Client c(s.port());
    const Response r = roundtrip(c, "GET /healthz HTTP/1.0\r\n\r\n");
    CHECK(r.status == 200);
    CHECK(c.closed_by_peer());
  }
}

TEST_CASE("HTTP/1.0 with Connection: keep-alive stays open", "[blackbox]") {
  TestServer s;
  Client c(s.port());
  for (int i = 0; i < 3; ++i) {
    const Response r = roundtrip(c, post10(usage_body("keep-" + std::to_string(i)), "Connection: keep-alive\r\n"));
    CHECK(r.status == 201);
    CHECK(r.header("Connection").value_or("") == "keep-alive");
  }
  // The last one without keep-alive ends it.
  CHECK(roundtrip(c, post10(usage_body("last"))).status == 201);
  CHECK(c.closed_by_peer());
}

TEST_CASE("Connection: close closes after the response, even with requests pipelined after it",
          "[blackbox]") {
  TestServer s;
  Client c(s.port());
  CHECK(roundtrip(c, get_request("/healthz")).status == 200);  // keep-alive is the 1.1 default
  const std::string body = usage_body("close");
  const Response r = roundtrip(c, post_request(body, "Connection: close\r\n") + get_request("/healthz"));
  CHECK(r.status == 201);
  CHECK(r.header("Connection").value_or("") == "close");
  CHECK(c.closed_by_peer());
}

TEST_CASE("a chunked request body is accepted and stored de-chunked", "[blackbox]") {
  TestServer s;
  const std::string body = usage_body("chunked-" + std::string(300, 'c'));
  std::map<uint64_t, std::string> sent;
  {
    Client c(s.port());
    SECTION("chunks in separate writes") {
      REQUIRE(c.send(kChunkedHead));
      for (size_t off = 0; off < body.size(); off += 37) REQUIRE(c.send(chunk(body.substr(off, 37))));
      const Response r = roundtrip(c, "0\r\n\r\n");
      CHECK(r.status == 201);
      sent.emplace(id_of(r), body);
    }
    SECTION("one chunk per byte, in one write") {
      std::string request = kChunkedHead;
      for (const char ch : body) request += chunk(std::string(1, ch));
      const Response r = roundtrip(c, request + "0\r\n\r\n");
      CHECK(r.status == 201);
      sent.emplace(id_of(r), body);
    }
    SECTION("chunk extensions and trailers") {
      std::string request = kChunkedHead + chunk(body.substr(0, 100), ";name=value") + chunk(body.substr(100));
      const Response r = roundtrip(c, request + "0\r\nX-Checksum: none\r\n\r\n");
      CHECK(r.status == 201);
      sent.emplace(id_of(r), body);
    }
    // The connection is in step after the chunked message.
    const Response after = roundtrip(c, post_request(usage_body("after-chunked")));
    CHECK(after.status == 201);
    sent.emplace(id_of(after), usage_body("after-chunked"));
  }
  CHECK(stop_and_read(s) == sent);
}

TEST_CASE("Expect: 100-continue gets 100 Continue before the body is sent", "[blackbox]") {
  TestServer s;
  Client c(s.port());
  const std::string body = usage_body("continue");
  const std::string head = "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  const Response interim = roundtrip(c, head);
  CHECK(interim.version == "HTTP/1.1");
  CHECK(interim.status == 100);
  CHECK(interim.body.empty());
  const Response r = roundtrip(c, body);
  CHECK(r.status == 201);
  CHECK(id_of(r) > 0);
  CHECK(roundtrip(c, get_request("/healthz")).status == 200);
}

TEST_CASE("Expect: 100-continue on a refused request gets the refusal, not 100", "[blackbox]") {
  TestServer s({"--strict-content-type"});
  Client c(s.port());
  const Response r = roundtrip(c, "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                                  "Expect: 100-continue\r\nContent-Length: 100\r\n\r\n");
  check_error(r, 415, "unsupported_media_type");
  CHECK(c.closed_by_peer());
}

TEST_CASE("an Expect other than 100-continue gets 417", "[blackbox]") {
  TestServer s;
  Client c(s.port());
  const std::string body = usage_body("expect");
  const Response r = roundtrip(c, post_request(body, "Expect: something-else\r\n"));
  check_error(r, 417, "expectation_failed");
  CHECK(c.closed_by_peer());
}

TEST_CASE("keep-alive carries many requests, bodies split at every boundary", "[blackbox]") {
  TestServer s;
  Client c(s.port());
  const std::string request = post_request(usage_body("split"));
  // One request in two writes, the split moving through the whole request.
  for (size_t cut = 1; cut < request.size(); cut += 7) {
    INFO("split at " << cut);
    REQUIRE(c.send(std::string_view(request).substr(0, cut)));
    const Response r = roundtrip(c, std::string_view(request).substr(cut));
    CHECK(r.status == 201);
  }
}

// RFC 9110 9.1: every general-purpose server supports GET and HEAD; RFC 9112 6.3: a response
// to HEAD ends at the blank line after its headers, so a body there would be read as the
// start of the next response by a pipelining client.
TEST_CASE("a response to HEAD has no body, so the next pipelined response is intact", "[blackbox]") {
  TestServer s;
  Client c(s.port());
  REQUIRE(c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/healthz")));
  const auto head = c.read_response(5'000, true);
  REQUIRE(head.has_value());
  CHECK(head->status == 200);
  const auto get = c.read_response(5'000);
  INFO("client: " << c.last_error());
  REQUIRE(get.has_value());
  CHECK(get->status == 200);
  CHECK(get->body == R"({"status":"ok"})");

  REQUIRE(c.send("HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n" + get_request("/healthz")));
  const auto missing = c.read_response(5'000, true);
  REQUIRE(missing.has_value());
  CHECK(missing->status == 404);
  const auto after = c.read_response(5'000);
  INFO("client: " << c.last_error());
  REQUIRE(after.has_value());
  CHECK(after->status == 200);
}
