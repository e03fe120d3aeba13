// http/bearer: the syntax of "Authorization: Bearer <b64token>" (RFC 9110 11.4, RFC 6750
// 2.1), and the parser keeping the Authorization value of a head, fed at every split point.
#include "busyring/http/bearer.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "busyring/http/parser.h"

using namespace busyring;
using http::Credentials;

TEST_CASE("Authorization values read as bearer credentials", "[http][auth]") {
  struct Row {
    const char* value;
    Credentials kind;
    const char* token;
  };
  const std::vector<Row> rows = {
      {"Bearer abc.DEF-_~+/123==", Credentials::bearer, "abc.DEF-_~+/123=="},
      {"bearer abc", Credentials::bearer, "abc"},  // the scheme is case-insensitive (RFC 9110 11.1)
      {"BEARER   abc", Credentials::bearer, "abc"},
      {"Basic dXNlcjpwYXNz", Credentials::other_scheme, ""},
      {"Digest username=\"x\"", Credentials::other_scheme, ""},
      {"Bearer", Credentials::malformed, ""},
      {"Bearer ", Credentials::malformed, ""},
      {"Bearer a b", Credentials::malformed, ""},
      {"Bearer =abc", Credentials::malformed, ""},
      {"Bearer ab=c", Credentials::malformed, ""},
      {"Bearer a,b", Credentials::malformed, ""},
      {"Bearer\tabc", Credentials::malformed, ""},
      {"", Credentials::malformed, ""},
      {"Bearer:abc", Credentials::malformed, ""},
  };
  for (const Row& r : rows) {
    INFO(r.value);
    const http::Bearer b = http::parse_bearer(r.value);
    CHECK(b.kind == r.kind);
    CHECK(b.token == r.token);
  }
}

namespace {

// The head of `request` fed in two pieces cut at `split`, with a credentials buffer.
http::Bearer credentials_of(const std::string& request, size_t split) {
  http::Limits limits;
  std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes),
      credentials(http::kCredentialsBytes);
  http::Parser p;
  p.init(&limits, staging.data(), target.data(), credentials.data());
  size_t used = 0;
  http::Event ev = p.feed(request.data(), split, used);
  REQUIRE(used == split);
  if (ev == http::Event::need_more) ev = p.feed(request.data() + split, request.size() - split, used);
  REQUIRE(ev == http::Event::head);
  http::Bearer b = p.head().credentials;
  static std::string kept;  // the token points into `credentials`, gone on return
  kept.assign(b.token);
  b.token = kept;
  return b;
}

}  // namespace

TEST_CASE("the parser keeps the Authorization value at every split point", "[http][auth]") {
  const std::string token = "tok-" + std::string(200, 'k') + "==";
  const std::string req = "POST /api/usages HTTP/1.1\r\nHost: x\r\nAuthorization:  Bearer " + token +
                          " \t\r\nContent-Length: 2\r\n\r\n";
  for (size_t split = 1; split < req.size(); ++split) {
    INFO("split " << split);
    const http::Bearer b = credentials_of(req, split);
    REQUIRE(b.kind == Credentials::bearer);
    REQUIRE(b.token == token);
  }
}

TEST_CASE("no, two, or an over-long Authorization field", "[http][auth]") {
  const std::string base = "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n";
  CHECK(credentials_of(base + "\r\n", 5).kind == Credentials::none);
  CHECK(credentials_of(base + "Authorization: Bearer abc\r\nAuthorization: Bearer abc\r\n\r\n", 5).kind ==
        Credentials::malformed);
  const std::string longest = "Bearer " + std::string(http::kCredentialsBytes - 7, 'a');
  CHECK(credentials_of(base + "Authorization: " + longest + "\r\n\r\n", 5).kind == Credentials::bearer);
  CHECK(credentials_of(base + "Authorization: " + longest + "a\r\n\r\n", 5).kind == Credentials::malformed);
  // Only in the head: a trailer field named Authorization is not credentials.
  const std::string chunked = "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  CHECK(credentials_of(chunked, 5).kind == Credentials::none);
}
