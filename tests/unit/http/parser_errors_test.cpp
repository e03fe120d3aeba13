// http/parser: hostile and oversized input, table-driven and fed at every split point. Each
// case must end in the same ParseError however the bytes arrive, and report no request made
// of the bad bytes.
#include "busyring/http/parser.h"

#include <catch2/catch.hpp>

#include "parse_harness.h"

using namespace busyring::http;
using busyring::test::parse_pieces;
using busyring::test::ParseRun;

namespace {

Limits test_limits() {
  Limits l;
  l.max_head_bytes = 4096;
  l.max_headers = 20;
  l.max_target_bytes = 2048;
  l.max_body = 1024;
  return l;
}

struct BadCase {
  const char* name;
  std::string input;
  ParseError want;
  size_t requests_before = 0;  // valid requests ahead of the bad one
};

std::string nul_header() {
  std::string s = "GET / HTTP/1.1\r\nHost: x\r\nX-A: b";
  s.push_back('\0');
  return s + "c\r\n\r\n";
}

std::string many_headers(int n) {
  std::string s = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < n; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
  return s + "\r\n";
}

std::string chunked_of(size_t total) {
  std::string s = "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t left = total; left > 0;) {
    const size_t n = std::min<size_t>(left, 300);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", n);
    s += std::string(size) + "\r\n" + std::string(n, 'c') + "\r\n";
    left -= n;
  }
  return s + "0\r\n\r\n";
}

// Framing that RFC 9112 lets a server refuse and that a front proxy may read differently
// (request smuggling). The parser.cpp header says llhttp rejects obs-fold; llhttp 8.1 does not.
std::vector<BadCase> lenient_cases() {
  return {
      {"obs-fold in a header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", ParseError::malformed},
      {"obs-fold in Transfer-Encoding",
       "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n", ParseError::malformed},
      {"chunk data not followed by CRLF",
       "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n", ParseError::malformed},
  };
}

std::vector<BadCase> bad_cases() {
  const Limits l = test_limits();
  const std::string ok = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  return {
      {"bad method character", "P@ST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", ParseError::malformed},
      {"Content-Length with Transfer-Encoding",
       "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       ParseError::malformed},
      {"Transfer-Encoding with Content-Length",
       "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
       ParseError::malformed},
      {"two different Content-Lengths",
       "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", ParseError::malformed},
      {"Content-Length not a number", "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n{", ParseError::malformed},
      {"negative Content-Length", "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", ParseError::malformed},
      {"Transfer-Encoding not ending in chunked",
       "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n{}", ParseError::malformed},
      {"bad chunk size", "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
       ParseError::malformed},
      {"Transfer-Encoding chunked twice", "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
       ParseError::malformed},
      {"Transfer-Encoding gzip then chunked", "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       ParseError::malformed},
      {"bare LF line ends", "GET / HTTP/1.1\nHost: x\n\n", ParseError::malformed},
      {"bare LF after a header", "GET / HTTP/1.1\r\nHost: x\n\r\n", ParseError::malformed},
      {"NUL in a header value", nul_header(), ParseError::malformed},
      // RFC 9112 5.1: whitespace between a field name and the colon MUST be refused with 400.
      {"space before the colon", "GET / HTTP/1.1\r\nHost: x\r\nContent-Type : text/plain\r\n\r\n", ParseError::malformed},
      {"space in a header name", "GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n", ParseError::malformed},
      {"control character in the target", "GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", ParseError::malformed},
      {"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", ParseError::version},
      {"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", ParseError::version},
      {"garbage after a valid request", ok + "\x16\x03\x01 hello\r\n\r\n", ParseError::malformed, 1},
      {"head over max_head_bytes",
       "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(l.max_head_bytes, 'v') + "\r\n\r\n", ParseError::head_too_large},
      {"too many headers", many_headers(static_cast<int>(l.max_headers) + 1), ParseError::head_too_large},
      {"target over the limit", "GET /" + std::string(l.max_target_bytes, 't') + " HTTP/1.1\r\nHost: x\r\n\r\n",
       ParseError::target_too_long},
      {"Content-Length over max_body",
       "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(l.max_body + 1) + "\r\n\r\n",
       ParseError::body_too_large},
      {"huge Content-Length", "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
       ParseError::body_too_large},
      {"chunked body over max_body", chunked_of(l.max_body + 1), ParseError::body_too_large},
      {"pipelined request over max_body", ok + chunked_of(l.max_body + 200), ParseError::body_too_large, 1},
  };
}

}  // namespace

TEST_CASE("hostile and oversized requests fail the same way at every split point", "[http]") {
  const Limits limits = test_limits();
  for (const BadCase& c : bad_cases()) {
    INFO("case: " << c.name);
    {
      const ParseRun run = parse_pieces(c.input, {}, limits);
      CHECK(run.error == c.want);
      CHECK(run.requests.size() == c.requests_before);
    }
    // Long inputs: every split point near the interesting edges, every 7th elsewhere.
    for (size_t cut = 1; cut < c.input.size(); ++cut) {
      if (c.input.size() > 600 && cut > 100 && cut + 100 < c.input.size() && cut % 7 != 0) continue;
      INFO("split at " << cut);
      const ParseRun run = parse_pieces(c.input, {cut}, limits);
      REQUIRE(run.error == c.want);
      REQUIRE(run.requests.size() == c.requests_before);
    }
  }
}

TEST_CASE("obs-fold and chunk data without its CRLF are refused", "[http]") {
  const Limits limits = test_limits();
  for (const BadCase& c : lenient_cases()) {
    INFO("case: " << c.name);
    const ParseRun run = parse_pieces(c.input, {}, limits);
    CHECK(run.error == c.want);
    CHECK(run.requests.empty());
  }
}

TEST_CASE("HTTP/1.2 is refused, never parsed as something else", "[http]") {
  // RFC 9110 2.5 would have it processed as 1.1; llhttp 8 rejects it as malformed.
  const ParseRun run = parse_pieces("GET / HTTP/1.2\r\n\r\n", {}, test_limits());
  CHECK(run.error != ParseError::none);
  CHECK(run.requests.empty());
}

TEST_CASE("after an error the parser keeps answering error and consumes nothing", "[http]") {
  const Limits limits = test_limits();
  std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes);
  Parser p;
  p.init(&limits, staging.data(), target.data());
  const std::string bad = "BAD\x01 / HTTP/1.1\r\nHost: x\r\n\r\n";
  size_t used = 99;
  REQUIRE(p.feed(bad.data(), bad.size(), used) == Event::error);
  CHECK(p.error() == ParseError::malformed);
  CHECK(std::string(p.error_reason()).size() > 0);
  const std::string good = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(p.feed(good.data(), good.size(), used) == Event::error);
  CHECK(used == 0);
  // init() starts a fresh connection.
  p.init(&limits, staging.data(), target.data());
  CHECK(p.error() == ParseError::none);
  CHECK(p.feed(good.data(), good.size(), used) == Event::head);
}

TEST_CASE("each limit error has its own reason text", "[http]") {
  const Limits limits = test_limits();
  std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes);
  Parser p;
  p.init(&limits, staging.data(), target.data());
  const std::string in = "GET /" + std::string(limits.max_target_bytes, 't') + " HTTP/1.1\r\nHost: x\r\n\r\n";
  size_t used = 0;
  REQUIRE(p.feed(in.data(), in.size(), used) == Event::error);
  CHECK(p.error() == ParseError::target_too_long);
  CHECK(std::string(p.error_reason()) == "request target too long");
}

TEST_CASE("a Content-Length over max_body is refused at the head, before any body byte", "[http]") {
  const Limits limits = test_limits();
  std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes);
  Parser p;
  p.init(&limits, staging.data(), target.data());
  const std::string head = "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
  size_t used = 0;
  CHECK(p.feed(head.data(), head.size(), used) == Event::error);
  CHECK(p.error() == ParseError::body_too_large);
}
