// http/response: exact bytes of the status line and headers (Date, Content-Type,
// Content-Length, Connection for close and for HTTP/1.0 keep-alive), the no-fit answer,
// reason phrases and format_u64.
#include "busyring/http/response.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace busyring::http;

namespace {

const std::string kDate = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";
constexpr uint64_t kDateNs = 784111777ull * 1'000'000'000ull;

std::string render(const Response& r, size_t cap = 4096) {
  DateLine date;
  date.update(kDateNs + 123);
  std::vector<char> out(cap);
  const size_t n = write_response(out.data(), cap, r, date);
  return std::string(out.data(), n);
}

}  // namespace

TEST_CASE("the Date line is an IMF-fixdate, rebuilt once a second", "[http]") {
  DateLine d;
  d.update(kDateNs);
  CHECK(std::string(d.line()) == kDate);
  d.update(kDateNs + 999'999'999);
  CHECK(std::string(d.line()) == kDate);
  d.update(kDateNs + 1'000'000'000);
  CHECK(std::string(d.line()) == "Date: Sun, 06 Nov 1994 08:49:38 GMT\r\n");
  DateLine epoch;
  epoch.update(0);
  CHECK(std::string(epoch.line()) == "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n");
}

TEST_CASE("a 201 keep-alive response has exact bytes", "[http]") {
  Response r;
  r.status = 201;
  r.body = "{\"id\":42}";
  CHECK(render(r) ==
        "HTTP/1.1 201 Created\r\nServer: busyring\r\n" + kDate +
            "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"id\":42}");
}

TEST_CASE("Connection: close when the connection ends, keep-alive only for HTTP/1.0", "[http]") {
  Response r;
  r.status = 400;
  r.body = "{}";
  r.keep_alive = false;
  const std::string closing = render(r);
  CHECK(closing.find("Content-Length: 2\r\nConnection: close\r\n\r\n{}") != std::string::npos);
  CHECK(closing.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);

  r.keep_alive = true;
  r.http10 = true;
  CHECK(render(r).find("Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}") != std::string::npos);
  r.http10 = false;
  CHECK(render(r).find("Connection:") == std::string::npos);
  // A closing HTTP/1.0 response says close, not keep-alive.
  r.http10 = true;
  r.keep_alive = false;
  const std::string closing10 = render(r);
  CHECK(closing10.find("Connection: close") != std::string::npos);
  CHECK(closing10.find("keep-alive") == std::string::npos);
}

TEST_CASE("extra headers go before Content-Length; text bodies say so", "[http]") {
  Response r;
  r.status = 405;
  r.body = "x";
  r.extra_headers = "Allow: POST\r\n";
  CHECK(render(r).find("application/json\r\nAllow: POST\r\nContent-Length: 1\r\n\r\nx") != std::string::npos);
  r.type = BodyType::text;
  r.extra_headers = {};
  CHECK(render(r).find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
}

TEST_CASE("the answer to HEAD has the body's Content-Length but no body", "[http]") {
  Response r;
  r.body = "{\"status\":\"ok\"}";
  r.omit_body = true;
  const std::string out = render(r);
  CHECK(out.find("Content-Length: 15\r\n\r\n") != std::string::npos);
  CHECK(out.substr(out.size() - 4) == "\r\n\r\n");
}

TEST_CASE("Content-Length equals the body size for large and empty bodies", "[http]") {
  Response r;
  const std::string big(100000, 'b');
  r.body = big;
  const std::string out = render(r, 200000);
  CHECK(out.find("Content-Length: 100000\r\n\r\n") != std::string::npos);
  CHECK(out.size() - out.find("\r\n\r\n") - 4 == big.size());
  r.body = {};
  CHECK(render(r).find("Content-Length: 0\r\n\r\n") != std::string::npos);
}

TEST_CASE("a response that does not fit writes nothing; one that just fits is whole", "[http]") {
  Response r;
  r.status = 201;
  r.body = "{\"id\":1}";
  const std::string full = render(r);
  REQUIRE_FALSE(full.empty());
  CHECK(render(r, full.size()) == full);
  CHECK(render(r, full.size() - 1).empty());
  CHECK(render(r, 10).empty());
  CHECK(render(r, 0).empty());
}

TEST_CASE("reason phrases cover every status the server sends", "[http]") {
  CHECK(std::string(reason_phrase(200)) == "OK");
  CHECK(std::string(reason_phrase(201)) == "Created");
  CHECK(std::string(reason_phrase(404)) == "Not Found");
  CHECK(std::string(reason_phrase(413)) == "Content Too Large");
  CHECK(std::string(reason_phrase(431)) == "Request Header Fields Too Large");
  CHECK(std::string(reason_phrase(503)) == "Service Unavailable");
  CHECK(std::string(reason_phrase(505)) == "HTTP Version Not Supported");
  for (int s : {100, 200, 201, 400, 404, 405, 408, 411, 413, 414, 415, 417, 422, 431, 500, 503, 505})
    CHECK(std::string(reason_phrase(static_cast<uint16_t>(s))) != "Unknown");
  CHECK(std::string(reason_phrase(299)) == "Unknown");
  CHECK(kContinue == "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST_CASE("format_u64 writes decimal digits of any 64-bit value", "[http]") {
  char buf[24];
  const auto fmt = [&buf](uint64_t v) { return std::string(buf, format_u64(buf, v)); };
  CHECK(fmt(0) == "0");
  CHECK(fmt(7) == "7");
  CHECK(fmt(10) == "10");
  CHECK(fmt(22954) == "22954");
  CHECK(fmt(UINT64_MAX) == "18446744073709551615");
  for (uint64_t v = 1; v < UINT64_MAX / 10; v = v * 10 + 3) REQUIRE(fmt(v) == std::to_string(v));
}
