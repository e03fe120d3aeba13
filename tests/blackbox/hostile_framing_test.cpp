// Request smuggling and framing, beyond the basic cases of api_status_test: every message whose
// framing or syntax two HTTP implementations could read differently gets 400 malformed_http
// and the connection is closed (the bytes after it cannot be trusted), a bystander on another
// connection is served after each one, and no record is written for any of them: the requests
// carry valid usage bodies (some a whole second request hidden in the body), so a server that
// accepted one would leave a record that check_only_bystander_records finds.
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "hostile.h"

using namespace blackbox;

namespace {

const char* const kPost = "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";

std::string body() { return usage_body("smuggled"); }

std::string chunk(std::string_view data, std::string_view ext = "") {
  char size[32];
  std::snprintf(size, sizeof size, "%zx", data.size());
  return std::string(size) + std::string(ext) + "\r\n" + std::string(data) + "\r\n";
}

std::string chunked_post(std::string_view chunks) {
  return std::string(kPost) + "Transfer-Encoding: chunked\r\n\r\n" + std::string(chunks);
}

// Each request on a fresh connection: 400 malformed_http and close; then no record at all.
void check_all_malformed(const std::vector<std::string>& requests) {
  TestServer s;
  Bystander bystander(s.port());
  const double before = requests_with_status(metrics_on(bystander.client()), 400);
  for (const auto& request : requests)
    expect_rejected_and_closed(s.port(), request, 400, "malformed_http", bystander);
  // Every rejection is counted by status.
  CHECK(requests_with_status(metrics_on(bystander.client()), 400) - before ==
        static_cast<double>(requests.size()));
  check_only_bystander_records(s, bystander);
}

}  // namespace

TEST_CASE("smuggling: Content-Length together with Transfer-Encoding, either order, 400",
          "[blackbox][hostile]") {
  const std::string b = body();
  const std::string hidden = post_request(usage_body("hidden"));
  check_all_malformed({
      std::string(kPost) + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n" + chunk(b) + "0\r\n\r\n",
      std::string(kPost) + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(b) + "0\r\n\r\n",
      // CL.TE: a front end honouring Content-Length would forward `hidden` as a second request.
      std::string(kPost) + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden,
      // TE.CL: one honouring Transfer-Encoding would read the chunk as the body.
      std::string(kPost) + "Content-Length: " + std::to_string(b.size() + 8) +
          "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(b) + "0\r\n\r\n",
      std::string(kPost) + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" + chunk(b) + "0\r\n\r\n",
  });
}

TEST_CASE("smuggling: two differing or ill-formed Content-Lengths, 400", "[blackbox][hostile]") {
  const std::string b = body();
  const std::string n = std::to_string(b.size());
  check_all_malformed({
      std::string(kPost) + "Content-Length: " + n + "\r\nContent-Length: 5\r\n\r\n" + b,
      std::string(kPost) + "Content-Length: 5\r\nContent-Length: " + n + "\r\n\r\n" + b,
      std::string(kPost) + "Content-Length: " + n + ", 5\r\n\r\n" + b,       // a list in one field
      std::string(kPost) + "Content-Length: +" + n + "\r\n\r\n" + b,
      std::string(kPost) + "Content-Length: -1\r\n\r\n" + b,
      std::string(kPost) + "Content-Length: 0x10\r\n\r\n" + b,
      std::string(kPost) + "Content-Length: " + n + " 5\r\n\r\n" + b,
      std::string(kPost) + "Content-Length: \r\n\r\n" + b,
      std::string(kPost) + "Content-Length: 99999999999999999999999\r\n\r\n" + b,  // overflows 64 bits
  });
}

TEST_CASE("smuggling: a Transfer-Encoding that is not exactly chunked, 400", "[blackbox][hostile]") {
  const std::string b = body();
  const std::string chunked = chunk(b) + "0\r\n\r\n";
  const std::string with_cl = "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
  check_all_malformed({
      std::string(kPost) + "Transfer-Encoding: gzip, chunked\r\n\r\n" + chunked,
      std::string(kPost) + "Transfer-Encoding: chunked, chunked\r\n\r\n" + chunked,
      std::string(kPost) + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
      std::string(kPost) + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked,
      std::string(kPost) + "Transfer-Encoding: identity\r\n\r\n" + b,
      std::string(kPost) + "Transfer-Encoding: identity\r\n" + with_cl,
      std::string(kPost) + "Transfer-Encoding: xchunked\r\n\r\n" + chunked,
      std::string(kPost) + "Transfer-Encoding: chunked, identity\r\n\r\n" + chunked,
      std::string(kPost) + "Transfer-Encoding: \r\n" + with_cl,
  });
}

// RFC 9112 6.1: "A server or client that receives an HTTP/1.0 message containing a
// Transfer-Encoding header field MUST treat the message as if the framing is faulty, even if a
// Content-Length is present, and close the connection after processing the message": an
// HTTP/1.0 hop in front would not have de-chunked it.
TEST_CASE("smuggling: Transfer-Encoding in an HTTP/1.0 request is faulty framing, 400",
          "[blackbox][hostile]") {
  const std::string b = body();
  const std::string head10 = "POST /api/usages HTTP/1.0\r\nContent-Type: application/json\r\n";
  check_all_malformed({
      head10 + "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(b) + "0\r\n\r\n",
      head10 + "Transfer-Encoding: chunked\r\n\r\n" + chunk(b) + "0\r\n\r\n",
  });
}

TEST_CASE("framing: invalid chunk sizes and chunk delimiters, 400", "[blackbox][hostile]") {
  const std::string b = body();
  char hex[32];
  std::snprintf(hex, sizeof hex, "%zx", b.size());
  check_all_malformed({
      chunked_post("-1\r\n"),
      chunked_post("0x10\r\n0123456789abcdef\r\n0\r\n\r\n"),
      chunked_post("fffffffffffffffffff\r\n" + b + "\r\n0\r\n\r\n"),  // overflows 64 bits
      chunked_post("\r\n" + b + "\r\n0\r\n\r\n"),                      // no size at all
      chunked_post(" " + std::string(hex) + "\r\n" + b + "\r\n0\r\n\r\n"),
      chunked_post(std::string(hex) + "\n" + b + "\r\n0\r\n\r\n"),     // bare LF after the size
      chunked_post(std::string(hex) + "\r\n" + b + "XX0\r\n\r\n"),     // data longer than the size
      chunked_post(chunk(b.substr(0, 10)) + "zz\r\n"),                 // a bad size after a good chunk
  });
}

// RFC 9112 7.1.1: chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-name a
// token, ext-val a token or a quoted-string (whose qdtext excludes CTLs and DEL).
TEST_CASE("framing: chunk extension garbage, 400", "[blackbox][hostile]") {
  const std::string b = body();
  check_all_malformed({
      chunked_post(chunk(b, ";\x01") + "0\r\n\r\n"),
      chunked_post(chunk(b, std::string(";a\0b", 4)) + "0\r\n\r\n"),
      chunked_post(chunk(b, ";a=\"unterminated") + "0\r\n\r\n"),
      chunked_post(chunk(b, ";a b=c") + "0\r\n\r\n"),
      chunked_post(chunk(b, ";a\nb") + "0\r\n\r\n"),
      chunked_post(chunk(b, ";a=b=c") + "0\r\n\r\n"),
      chunked_post(chunk(b, ";a@=b") + "0\r\n\r\n"),
      chunked_post(chunk(b, ";") + "0\r\n\r\n"),
      chunked_post(chunk(b, ";=c") + "0\r\n\r\n"),          // no extension name
      chunked_post(chunk(b, ";a=\"\x7f\"") + "0\r\n\r\n"),  // DEL in a quoted value
  });
}

TEST_CASE("framing: obs-fold (a header continued on the next line), 400", "[blackbox][hostile]") {
  const std::string b = body();
  const std::string cl = "Content-Length: " + std::to_string(b.size()) + "\r\n";
  check_all_malformed({
      std::string(kPost) + "X-A: 1\r\n 2\r\n" + cl + "\r\n" + b,
      std::string(kPost) + "X-A: 1\r\n\t2\r\n" + cl + "\r\n" + b,
      // A folded Transfer-Encoding is how "chunked" hides from one parser and not another.
      std::string(kPost) + "Transfer-Encoding:\r\n chunked\r\n" + cl + "\r\n" + b,
      std::string(kPost) + cl + "X-A: 1\r\n   \r\n\r\n" + b,
  });
}

TEST_CASE("framing: a bare LF or bare CR as a line ending in the head, 400", "[blackbox][hostile]") {
  const std::string b = body();
  const std::string cl = "Content-Length: " + std::to_string(b.size());
  check_all_malformed({
      std::string(kPost) + cl + "\nX-A: 1\r\n\r\n" + b,         // after a header line
      std::string(kPost) + cl + "\r\rX-A: 1\r\n\r\n" + b,      // bare CR
      std::string(kPost) + cl + "\rX-A: 1\r\n\r\n" + b,
      "POST /api/usages HTTP/1.1\nHost: x\r\nContent-Type: application/json\r\n" + cl + "\r\n\r\n" + b,
      std::string(kPost) + cl + "\r\n\n" + b,                  // the blank line that ends the head
  });
}

TEST_CASE("framing: NUL and other control bytes in the head, 400", "[blackbox][hostile]") {
  const std::string b = body();
  const std::string cl = "Content-Length: " + std::to_string(b.size()) + "\r\n";
  const std::string nul(1, '\0');
  check_all_malformed({
      std::string(kPost) + "X-A: a" + nul + "b\r\n" + cl + "\r\n" + b,
      std::string(kPost) + "X-A" + nul + "B: a\r\n" + cl + "\r\n" + b,
      std::string(kPost) + "X-A: " + nul + "\r\n" + cl + "\r\n" + b,
      "POST /api/usa" + nul + "ges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + cl + "\r\n" + b,
      std::string(kPost) + "X-A: a\x01" + "b\r\n" + cl + "\r\n" + b,
      std::string(kPost) + "X-A: a\x7f" + "b\r\n" + cl + "\r\n" + b,
      std::string(kPost) + "Content-Length: " + std::to_string(b.size()) + nul + "\r\n\r\n" + b,
  });
}

// Absolute-form is accepted (RFC 9112 3.2.2, issue 18: see rfc9112_test.cpp); authority-form
// and asterisk-form are for proxies and server-wide OPTIONS, which busyring is not.
TEST_CASE("framing: authority-form and asterisk-form targets, and absolute-form with a bad authority, 400",
          "[blackbox][hostile]") {
  const std::string b = body();
  const std::string rest = "Content-Type: application/json\r\nContent-Length: " + std::to_string(b.size()) +
                           "\r\n\r\n" + b;
  check_all_malformed({
      "POST http:///api/usages HTTP/1.1\r\nHost: localhost\r\n" + rest,
      "POST http://user@evil.example/api/usages HTTP/1.1\r\nHost: localhost\r\n" + rest,
      "POST *  HTTP/1.1\r\nHost: localhost\r\n" + rest,
      "OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n",
      "CONNECT localhost:3000 HTTP/1.1\r\nHost: localhost:3000\r\n\r\n",
  });
}

TEST_CASE("framing: a request line with a garbled HTTP version, 400", "[blackbox][hostile]") {
  check_all_malformed({
      "GET /healthz HTTP/1.x\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/11\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/1.10\r\nHost: x\r\n\r\n",
      "GET /healthz http/1.1\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/1.1x\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/1.1 \r\nHost: x\r\n\r\n",
      "GET /healthz HTTPS/1.1\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/\r\nHost: x\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  // the HTTP/2 connection preface
  });
}

// The contract (README) answers a well-formed version other than 1.0 and 1.1 with 505.
TEST_CASE("a well-formed HTTP/2.0 or HTTP/0.9 request line gets 505 and close, nothing stored",
          "[blackbox][hostile]") {
  TestServer s;
  Bystander bystander(s.port());
  const std::string b = body();
  const std::string rest = "Content-Type: application/json\r\nContent-Length: " + std::to_string(b.size()) +
                           "\r\n\r\n" + b;
  for (const char* version : {"HTTP/2.0", "HTTP/0.9"}) {
    expect_rejected_and_closed(s.port(), std::string("POST /api/usages ") + version + "\r\nHost: x\r\n" + rest,
                               505, "http_version_not_supported", bystander);
  }
  check_only_bystander_records(s, bystander);
}

TEST_CASE("framing: header field names that are not tokens, 400", "[blackbox][hostile]") {
  const std::string b = body();
  const std::string cl = "Content-Length: " + std::to_string(b.size()) + "\r\n";
  check_all_malformed({
      std::string(kPost) + "Transfer-Encoding : chunked\r\n" + cl + "\r\n" + b,  // space before colon
      std::string(kPost) + "Transfer-Encoding\t: chunked\r\n" + cl + "\r\n" + b,
      std::string(kPost) + "Content-Length\t: " + std::to_string(b.size()) + "\r\n\r\n" + b,
      std::string(kPost) + ": empty-name\r\n" + cl + "\r\n" + b,                  // no name at all
      std::string(kPost) + "No-Colon\r\n" + cl + "\r\n" + b,
      "POST /api/usages HTTP/1.1\r\n Host: x\r\nContent-Type: application/json\r\n" + cl + "\r\n" + b,
  });
}
