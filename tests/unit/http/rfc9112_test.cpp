// http/parser against RFC 9112 (issue 18): one table of raw requests, each row naming the
// section it checks, fed whole, at every split point and byte by byte. A row either fails
// with its ParseError (and yields no request made of the bad bytes) or yields its requests
// with the facts the row names. Rows marked "smuggling" were a working desync before issue 18:
// llhttp 8.1 ends a chunk line at a bare CR and drops the byte after it.
#include <catch2/catch.hpp>

#include "busyring/http/parser.h"
#include "parse_harness.h"

using namespace busyring::http;
using busyring::test::parse_pieces;
using busyring::test::ParseRun;

namespace {

Limits rfc_limits() {
  Limits l;
  l.max_head_bytes = 4096;
  l.max_headers = 20;
  l.max_target_bytes = 512;
  l.max_body = 1024;
  return l;
}

struct Want {
  Method method = Method::post;
  std::string target = "/api/usages";
  std::string body;
  bool keep_alive = true;
};

struct Row {
  const char* section;
  const char* name;
  std::string input;
  ParseError error = ParseError::none;  // none: the request(s) in `want` parse
  std::vector<Want> want = {};
};

const std::string kTe = "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string kGet = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

Row bad(const char* section, const char* name, std::string input, ParseError e = ParseError::malformed) {
  return {section, name, std::move(input), e, {}};
}

Row good(const char* section, const char* name, std::string input, std::vector<Want> want) {
  return {section, name, std::move(input), ParseError::none, std::move(want)};
}

Want post_of(std::string body) { return {Method::post, "/api/usages", std::move(body), true}; }
Want get_of(std::string target = "/healthz", bool keep_alive = true) {
  return {Method::get, std::move(target), "", keep_alive};
}

std::vector<Row> chunked_rows() {
  return {
      // smuggling: a bare CR ends no chunk line, and the byte after it is not swallowed.
      bad("7.1 smuggling", "bare CR ends the chunk-size line", kTe + "4f\rX" + std::string(0x4f, 'a') + "\r\n0\r\n\r\n"),
      bad("7.1 smuggling", "bare CR ends the last chunk", kTe + "2\r\n{}\r\n0\rX\r\n"),
      bad("7.1.1 smuggling", "bare CR after a chunk extension", kTe + "2;a=b\r\r\n{}\r\n0\r\n\r\n"),
      bad("7.1.1 smuggling", "CR CR after a chunk extension", kTe + "2;a=b\r\r{}\r\n0\r\n\r\n"),
      bad("7.1", "bare LF ends the chunk-size line", kTe + "2\n{}\r\n0\r\n\r\n"),
      bad("7.1", "bare LF ends the last chunk", kTe + "2\r\n{}\r\n0\n\r\n"),
      bad("7.1.2", "bare CR ends a trailer field", kTe + "2\r\n{}\r\n0\r\nX-T: v\rX\r\n\r\n"),
      bad("7.1.2", "bare LF ends a trailer field", kTe + "2\r\n{}\r\n0\r\nX-T: v\n\r\n"),
      bad("7.1.2", "bare CR ends the trailer section", kTe + "2\r\n{}\r\n0\r\n\rX"),
      bad("7.1.2", "obs-fold in a trailer field", kTe + "2\r\n{}\r\n0\r\nX-T: v\r\n w\r\n\r\n"),
      bad("7.1", "chunk data not followed by CRLF", kTe + "2\r\n{}XX0\r\n\r\n"),
      bad("7.1", "chunk data followed by CR and no LF", kTe + "2\r\n{}\rX0\r\n\r\n"),
      bad("7.1", "chunk size of 17 hex digits", kTe + "10000000000000002\r\n{}\r\n0\r\n\r\n"),
      bad("7.1", "chunk size with a 0x prefix", kTe + "0x2\r\n{}\r\n0\r\n\r\n"),
      bad("7.1", "chunk size with a sign", kTe + "+2\r\n{}\r\n0\r\n\r\n"),
      bad("7.1", "empty chunk-size line", kTe + "\r\n2\r\n{}\r\n0\r\n\r\n"),
      bad("7.1", "whitespace before the chunk size", kTe + " 2\r\n{}\r\n0\r\n\r\n"),
      bad("7.1.1", "whitespace after the size without an extension", kTe + "2 \r\n{}\r\n0\r\n\r\n"),
      bad("7.1.1", "chunk extension without a name", kTe + "2;=b\r\n{}\r\n0\r\n\r\n"),
      bad("7.1.1", "chunk extension name not a token", kTe + "2;a@b\r\n{}\r\n0\r\n\r\n"),
      bad("7.1.1", "quoted extension value never closed", kTe + "2;a=\"b\r\n{}\r\n0\r\n\r\n"),
      bad("7.1.1", "control byte in a quoted extension value", kTe + "2;a=\"b\x01\"\r\n{}\r\n0\r\n\r\n"),
      bad("7.1.1", "extension value neither token nor quoted", kTe + "2;a=b\"c\"\r\n{}\r\n0\r\n\r\n"),
      bad("7.1.1", "chunk line longer than the head limit",
          kTe + "2;a=" + std::string(rfc_limits().max_head_bytes, 'v') + "\r\n{}\r\n0\r\n\r\n"),
      bad("7.1 / 413", "chunk size over max_body", kTe + "401\r\n", ParseError::body_too_large),
      bad("7.1 / 413", "second chunk takes the body over max_body",
          kTe + "200\r\n" + std::string(0x200, 'a') + "\r\n201\r\n", ParseError::body_too_large),
      good("7.1", "chunk size with leading zeros", kTe + "0002\r\n{}\r\n000\r\n\r\n", {post_of("{}")}),
      good("7.1", "chunk size in upper-case hex", kTe + "A\r\n0123456789\r\n0\r\n\r\n", {post_of("0123456789")}),
      good("7.1.1", "several chunk extensions", kTe + "2;a=b;c=d;e\r\n{}\r\n0;z=1\r\n\r\n", {post_of("{}")}),
      good("7.1.1", "quoted-pair in a quoted extension value",
           kTe + "2;a=\"b\\\"c\\\\\";d=\"x y\"\r\n{}\r\n0\r\n\r\n", {post_of("{}")}),
      good("7.1.1", "BWS around ';' and '='", kTe + "2 ; a = b\t;\tc = \"d\"\r\n{}\r\n0\r\n\r\n", {post_of("{}")}),
      good("7.1.2", "trailer fields", kTe + "2\r\n{}\r\n0\r\nX-A: 1\r\nX-B:\t2\t\r\n\r\n" + kGet,
           {post_of("{}"), get_of()}),
      good("7.1", "chunk data holding CR and LF", kTe + "4\r\n\r\n\r\n\r\n0\r\n\r\n", {post_of("\r\n\r\n")}),
  };
}

std::vector<Row> head_rows() {
  return {
      bad("9.6 / 2.2", "bare CR in the request line", "GET /healthz HTTP/1.1\rHost: x\r\n\r\n"),
      bad("2.2", "bare CR before the request line", "\rGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      bad("2.2", "whitespace between the request line and the first field",
          "GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n"),
      bad("5.2", "obs-fold in a field value", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\tc\r\n\r\n"),
      bad("5.1", "whitespace before the colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n"),
      bad("5.1", "field line without a colon", "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"),
      bad("5.1", "field line without a name", "GET /healthz HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n"),
      good("2.2", "an empty line before the request line is ignored", "\r\n" + kGet, {get_of()}),
      // 3.2: Host.
      bad("3.2", "HTTP/1.1 request without Host", "GET /healthz HTTP/1.1\r\n\r\n"),
      bad("3.2", "two Host lines", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
      bad("3.2", "two Host lines in HTTP/1.0", "GET /healthz HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"),
      bad("3.2", "Host with a space", "GET /healthz HTTP/1.1\r\nHost: a b\r\n\r\n"),
      bad("3.2", "Host with a tab inside", "GET /healthz HTTP/1.1\r\nHost: a\tb\r\n\r\n"),
      bad("3.2", "Host with a path", "GET /healthz HTTP/1.1\r\nHost: a/b\r\n\r\n"),
      bad("3.2", "Host with userinfo", "GET /healthz HTTP/1.1\r\nHost: u@a\r\n\r\n"),
      bad("3.2", "Host port not a number", "GET /healthz HTTP/1.1\r\nHost: a:8x\r\n\r\n"),
      bad("3.2", "Host with a broken percent-encoding", "GET /healthz HTTP/1.1\r\nHost: a%2\r\n\r\n"),
      bad("3.2", "Host IPv6 literal never closed", "GET /healthz HTTP/1.1\r\nHost: [::1\r\n\r\n"),
      good("3.2", "HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\n\r\n", {get_of("/healthz", false)}),
      good("3.2", "empty Host", "GET /healthz HTTP/1.1\r\nHost:\r\n\r\n", {get_of()}),
      good("3.2", "Host with a port, any case", "GET /healthz HTTP/1.1\r\nhOsT: Api.Example.org:3000\r\n\r\n", {get_of()}),
      good("3.2", "Host IPv6 literal with a port", "GET /healthz HTTP/1.1\r\nHost: [::1]:3000\r\n\r\n", {get_of()}),
      good("3.2", "Host with percent-encoding and OWS", "GET /healthz HTTP/1.1\r\nHost:\t a%2Db \t\r\n\r\n", {get_of()}),
      // 3.2.2: absolute-form.
      good("3.2.2", "absolute-form target", "POST http://a/api/usages HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}",
           {{Method::post, "http://a/api/usages", "{}", true}}),
      good("3.2.2", "absolute-form https with port and query",
           "GET HTTPS://b.example:8443/healthz?x=1 HTTP/1.1\r\nHost: other\r\n\r\n",
           {get_of("HTTPS://b.example:8443/healthz?x=1")}),
      good("3.2.2", "absolute-form without a path", "GET http://a HTTP/1.1\r\nHost: a\r\n\r\n", {get_of("http://a")}),
      bad("3.2.2", "absolute-form with an empty host", "GET http:///healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
      bad("3.2.2", "absolute-form with userinfo", "GET http://u@a/healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
      bad("3.2.2", "absolute-form of another scheme", "GET ftp://a/healthz HTTP/1.1\r\nHost: a\r\n\r\n"),
      bad("3.2.3", "authority-form", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
      bad("3.2.4", "asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
      // 6.3, 6.1, 9.6: values with trailing OWS (llhttp 8.1 refuses or misreads a tab there).
      good("6.3", "Content-Length followed by a tab", "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\t\r\n\r\n{}",
           {post_of("{}")}),
      good("6.3", "Content-Length between tabs and spaces",
           "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length:\t 2 \t \r\n\r\n{}", {post_of("{}")}),
      bad("6.3", "Content-Length with whitespace inside", "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 1\t2\r\n\r\n"),
      good("6.1", "Transfer-Encoding chunked followed by a tab",
           "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\t\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
           {post_of("{}")}),
      bad("6.1", "two Transfer-Encoding lines",
          "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
      good("9.6", "Connection: close followed by a tab", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\t\r\n\r\n",
           {get_of("/healthz", false)}),
      good("9.6", "Connection: keep-alive, close with tabs",
           "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive,\tclose\t \r\n\r\n", {get_of("/healthz", false)}),
      good("9.3", "HTTP/1.0 Connection: keep-alive followed by a tab",
           "GET /healthz HTTP/1.0\r\nConnection: keep-alive\t\r\n\r\n", {get_of("/healthz", true)}),
      good("5.5", "whitespace inside a value is kept", "GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Agent: a \t b\t\r\n\r\n",
           {get_of()}),
      // RFC 9110 9.1: a method we do not know still parses (501 is the API's answer).
      good("3.1 / RFC 9110 9.1", "unknown method", "FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + kGet,
           {{Method::unknown, "/healthz", "", true}, get_of()}),
      good("3.1 / RFC 9110 9.1", "QUERY with a body",
           "QUERY /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}" + kGet,
           {{Method::unknown, "/api/usages", "{}", true}, get_of()}),
      good("3.1", "methods are case-sensitive", "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
           {{Method::unknown, "/healthz", "", true}}),
      good("3.1", "a known method we do not serve", "DELETE /api/usages HTTP/1.1\r\nHost: x\r\n\r\n",
           {{Method::other, "/api/usages", "", true}}),
      good("3.1", "a long unknown method", "VERY-LONG-METHOD-NAME /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
           {{Method::unknown, "/healthz", "", true}}),
      bad("3.1", "method with a non-token byte", "GE(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      bad("3.1", "two spaces after the method", "GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
      bad("3.1", "request line without a version", "GET /healthz\r\nHost: x\r\n\r\n"),
  };
}

void check_row(const Row& row, const ParseRun& run) {
  REQUIRE(run.error == row.error);
  if (row.error != ParseError::none) {
    // No request made of the bad bytes; a good request before them may have completed.
    for (const auto& r : run.requests) REQUIRE(r.target == "/healthz");
    return;
  }
  REQUIRE(run.requests.size() == row.want.size());
  for (size_t i = 0; i < row.want.size(); ++i) {
    INFO("request " << i);
    CHECK(run.requests[i].method == row.want[i].method);
    CHECK(run.requests[i].target == row.want[i].target);
    CHECK(run.requests[i].body == row.want[i].body);
    CHECK(run.requests[i].keep_alive == row.want[i].keep_alive);
  }
}

void run_rows(const std::vector<Row>& rows) {
  const Limits limits = rfc_limits();
  for (const Row& row : rows) {
    INFO("RFC 9112 " << row.section << ": " << row.name);
    {
      INFO("fed whole");
      check_row(row, parse_pieces(row.input, {}, limits));
    }
    for (size_t cut = 1; cut < row.input.size(); ++cut) {
      if (row.input.size() > 600 && cut > 100 && cut + 100 < row.input.size() && cut % 7 != 0) continue;
      INFO("split at " << cut);
      check_row(row, parse_pieces(row.input, {cut}, limits));
    }
    if (row.input.size() <= 600) {
      std::vector<size_t> every;
      for (size_t i = 1; i < row.input.size(); ++i) every.push_back(i);
      INFO("byte by byte");
      check_row(row, parse_pieces(row.input, every, limits));
    }
  }
}

}  // namespace

TEST_CASE("every line of the chunked framing ends in exactly CRLF, at every split point", "[http][rfc9112]") {
  run_rows(chunked_rows());
}

TEST_CASE("request heads follow RFC 9112's MUSTs at every split point", "[http][rfc9112]") {
  run_rows(head_rows());
}

TEST_CASE("a chunk size over max_body is refused at its size line, before any chunk byte", "[http][rfc9112]") {
  const Limits limits = rfc_limits();
  std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes);
  Parser p;
  p.init(&limits, staging.data(), target.data());
  const std::string in = kTe + "ffffff\r\n";
  size_t used = 0;
  REQUIRE(p.feed(in.data(), in.size(), used) == Event::head);
  const size_t off = used;
  CHECK(p.feed(in.data() + off, in.size() - off, used) == Event::error);
  CHECK(p.error() == ParseError::body_too_large);
}

TEST_CASE("a refused body's chunks are drained whatever their size", "[http][rfc9112]") {
  // A request the API refuses (404) keeps its connection: its body is read and dropped.
  const std::string in = "POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" +
                         std::string(0x800, 'd') + "\r\n0\r\n\r\n" + kGet;
  const ParseRun run = parse_pieces(in, {100, 1000}, rfc_limits(), true);
  REQUIRE(run.error == ParseError::none);
  REQUIRE(run.requests.size() == 2);
  CHECK(run.requests[1].target == "/healthz");
}

TEST_CASE("a CR between requests carries over when the parser is re-initialised", "[http][rfc9112]") {
  // The connection gives its workspace back between requests and init()s the parser on the
  // next receive: the LF of an empty line still pairs with the CR before it.
  const Limits limits = rfc_limits();
  std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes);
  Parser p;
  p.init(&limits, staging.data(), target.data());
  size_t used = 0;
  REQUIRE(p.feed("\r", 1, used) == Event::need_more);
  CHECK_FALSE(p.in_request());
  p.init(&limits, staging.data(), target.data());
  const std::string rest = "\n" + kGet;
  CHECK(p.feed(rest.data(), rest.size(), used) == Event::head);
  p.init(&limits, staging.data(), target.data());
  REQUIRE(p.feed("\r", 1, used) == Event::need_more);
  p.init(&limits, staging.data(), target.data());
  CHECK(p.feed("X", 1, used) == Event::error);  // the byte after a CR must be LF
}
