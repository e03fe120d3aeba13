// http/host_syntax (issue 18, RFC 9112 3.2 and 3.2.2): Host values and absolute-form targets,
// table-driven (the parser's split-point tests feed Host values in pieces: rfc9112_test.cpp).
#include "busyring/http/host_syntax.h"

#include <catch2/catch.hpp>

#include <string>

using busyring::http::HostSyntax;
using busyring::http::is_absolute_form;
using busyring::http::origin_part;

TEST_CASE("Host values: uri-host [ \":\" port ]", "[http]") {
  struct Row {
    const char* value;
    bool valid;
  };
  const Row rows[] = {
      {"", true},  // RFC 9112 3.2: empty when the target has no authority
      {"localhost", true},
      {"api.example.org:3000", true},
      {"10.0.0.5", true},
      {"10.0.0.5:", true},  // port = *DIGIT
      {"[::1]", true},
      {"[2001:db8::7]:443", true},
      {"[v1.fe80::a+en1]", true},  // IPvFuture
      {"a%2Db", true},
      {"under_score~tilde!$&'()*+,;=", true},
      {"a b", false},
      {"a\tb", false},
      {"a/b", false},
      {"u@a", false},
      {"a:8x", false},
      {"a:80:90", false},
      {"a%2", false},
      {"a%zz", false},
      {"[::1", false},
      {"[]", false},
      {"[::1]x", false},
      {"a?b", false},
      {"a#b", false},
      {"\"a\"", false},
  };
  for (const Row& r : rows) {
    const std::string v = r.value;
    INFO("Host: " << v);
    HostSyntax whole;
    for (char c : v) whole.feed(c);
    CHECK(whole.valid() == r.valid);
  }
}

TEST_CASE("absolute-form targets: http or https, a host, then a path or a query", "[http]") {
  CHECK(is_absolute_form("http://a/api/usages"));
  CHECK(is_absolute_form("HTTPS://a.example:8443/x?y=1"));
  CHECK(is_absolute_form("http://a"));
  CHECK(is_absolute_form("http://a?q"));
  CHECK(is_absolute_form("http://[::1]:3000/healthz"));
  CHECK_FALSE(is_absolute_form("/api/usages"));
  CHECK_FALSE(is_absolute_form("http:///api/usages"));  // RFC 9110 4.2.1: empty host
  CHECK_FALSE(is_absolute_form("http://:80/api/usages"));
  CHECK_FALSE(is_absolute_form("http://u@a/api/usages"));
  CHECK_FALSE(is_absolute_form("http://a#frag"));
  CHECK_FALSE(is_absolute_form("ftp://a/x"));
  CHECK_FALSE(is_absolute_form("http:/a/x"));
  CHECK_FALSE(is_absolute_form("a:443"));
  CHECK_FALSE(is_absolute_form("*"));
  CHECK(origin_part("/api/usages?x") == "/api/usages?x");
  CHECK(origin_part("http://a/api/usages?x") == "/api/usages?x");
  CHECK(origin_part("http://a") == "/");
  CHECK(origin_part("http://a?q") == "/");
  CHECK(origin_part("*").empty());
}
