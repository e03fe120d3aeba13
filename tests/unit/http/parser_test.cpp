// http/parser: table-driven valid requests, each fed whole, at every split point and one byte
// at a time, every piece ending against a PROT_NONE page (see parse_harness.h): heads, bodies
// (zero-copy, staged or chunked), pipelining, HTTP/1.0, Content-Type and Expect handling.
#include "busyring/http/parser.h"

#include <catch2/catch.hpp>

#include "parse_harness.h"

using namespace busyring::http;
using busyring::test::GuardedBytes;
using busyring::test::parse_pieces;
using busyring::test::ParseRun;
using busyring::test::SeenRequest;

namespace {

Limits test_limits() {
  Limits l;
  l.max_head_bytes = 8192;
  l.max_headers = 100;
  l.max_target_bytes = 2048;
  l.max_body = 1024;
  return l;
}

std::string post(const std::string& body, const std::string& headers = "",
                 const std::string& target = "/api/usages") {
  return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
         headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

const std::string kBody = R"({"patientId":"100","timestamp":"Tue Nov 01 2016","medication":"Albuterol"})";

SeenRequest posted(const std::string& body, ContentType ct = ContentType::json) {
  SeenRequest r;
  r.method = Method::post;
  r.target = "/api/usages";
  r.content_type = ct;
  r.has_length = true;
  r.content_length = body.size();
  r.body = body;
  return r;
}

SeenRequest got(const std::string& target, uint8_t minor = 1, bool keep_alive = true) {
  SeenRequest r;
  r.method = Method::get;
  r.target = target;
  r.version_minor = minor;
  r.keep_alive = keep_alive;
  return r;
}

struct Case {
  const char* name;
  std::string input;
  std::vector<SeenRequest> want;
};

std::vector<Case> cases() {
  std::vector<Case> c;
  c.push_back({"simple POST", post(kBody), {posted(kBody)}});
  c.push_back({"POST with an empty body", post(""), {posted("")}});
  {
    SeenRequest r = posted("{\"a\":1}");
    r.chunked = true;
    r.content_length = 0;
    c.push_back({"chunked body with an extension and a trailer",
                 "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n3;ext=1\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nX-T: v\r\n\r\n",
                 {r}});
  }
  {
    SeenRequest b = posted("{}");
    c.push_back({"pipelined POST, GET and POST",
                 post(kBody) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + post("{}"),
                 {posted(kBody), got("/healthz"), b}});
  }
  {
    SeenRequest r = posted(kBody);
    r.version_minor = 0;
    r.keep_alive = false;
    std::string in = post(kBody);
    in.replace(in.find("HTTP/1.1"), 8, "HTTP/1.0");
    c.push_back({"HTTP/1.0 closes by default", in, {r}});
  }
  c.push_back({"HTTP/1.0 with keep-alive",
               "GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", {got("/metrics", 0, true)}});
  c.push_back({"Connection: close", "GET /healthz?x=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
               {got("/healthz?x=1", 1, false)}});
  {
    SeenRequest r = posted(kBody);
    r.expect_continue = true;
    c.push_back({"Expect: 100-continue", post(kBody, "Expect: 100-Continue\r\n"), {r}});
    SeenRequest u = posted(kBody);
    u.expect_unknown = true;
    c.push_back({"unknown Expect", post(kBody, "Expect: something-else\r\n"), {u}});
  }
  {
    SeenRequest h = got("/healthz");
    h.method = Method::head;
    SeenRequest d = got("/api/usages/1");
    d.method = Method::other;
    c.push_back({"HEAD and DELETE", "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nDELETE /api/usages/1 HTTP/1.1\r\nHost: x\r\n\r\n",
                 {h, d}});
  }
  c.push_back({"empty-valued header before Content-Type",
               "POST /api/usages HTTP/1.1\r\nHost: x\r\nX-Empty:\r\nContent-Type: application/json\r\n"
               "Content-Length: 2\r\n\r\n{}",
               {posted("{}")}});
  {
    std::string long_name = "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type-But-Longer-Than-16: text/html\r\n"
                            "content-type: application/json\r\nContent-Length: 2\r\n\r\n{}";
    c.push_back({"only the exact Content-Type name counts", long_name, {posted("{}")}});
  }
  return c;
}

void check_same(const std::vector<SeenRequest>& seen, const std::vector<SeenRequest>& want) {
  REQUIRE(seen.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("request " << i);
    CHECK(seen[i].method == want[i].method);
    CHECK(seen[i].target == want[i].target);
    CHECK(seen[i].content_type == want[i].content_type);
    CHECK(seen[i].expect_continue == want[i].expect_continue);
    CHECK(seen[i].expect_unknown == want[i].expect_unknown);
    CHECK(seen[i].has_length == want[i].has_length);
    CHECK(seen[i].chunked == want[i].chunked);
    CHECK(seen[i].content_length == want[i].content_length);
    CHECK(seen[i].version_minor == want[i].version_minor);
    CHECK(seen[i].keep_alive == want[i].keep_alive);
    CHECK(seen[i].body == want[i].body);
  }
}

}  // namespace

TEST_CASE("valid requests parse the same whole, at every split point and byte by byte", "[http]") {
  const Limits limits = test_limits();
  for (const Case& c : cases()) {
    INFO("case: " << c.name);
    {
      INFO("fed whole");
      const ParseRun run = parse_pieces(c.input, {}, limits);
      REQUIRE(run.error == ParseError::none);
      CHECK(run.heads == static_cast<int>(c.want.size()));
      check_same(run.requests, c.want);
    }
    for (size_t cut = 1; cut < c.input.size(); ++cut) {
      INFO("split at " << cut);
      const ParseRun run = parse_pieces(c.input, {cut}, limits);
      REQUIRE(run.error == ParseError::none);
      check_same(run.requests, c.want);
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < c.input.size(); ++i) every.push_back(i);
    INFO("byte by byte");
    const ParseRun run = parse_pieces(c.input, every, limits);
    REQUIRE(run.error == ParseError::none);
    check_same(run.requests, c.want);
  }
}

TEST_CASE("Content-Type variants are classified as JSON or not", "[http]") {
  const Limits limits = test_limits();
  struct CT {
    const char* header;
    ContentType want;
  };
  const CT table[] = {
      {"Content-Type: application/json\r\n", ContentType::json},
      {"Content-Type: application/json; charset=utf-8\r\n", ContentType::json},
      {"Content-Type: application/json ;charset=UTF-8\r\n", ContentType::json},
      {"Content-Type: APPLICATION/JSON\r\n", ContentType::json},
      {"content-type:application/json\r\n", ContentType::json},
      {"Content-Type: application/vnd.x+json\r\n", ContentType::json},
      {"Content-Type: application/problem+json; charset=utf-8\r\n", ContentType::json},
      {"Content-Type: application/x-ndjson\r\n", ContentType::ndjson},
      {"Content-Type: Application/X-NDJSON; charset=utf-8\r\n", ContentType::ndjson},
      {"Content-Type: application/jsonlines\r\n", ContentType::ndjson},
      {"Content-Type: application/json-lines\r\n", ContentType::ndjson},
      {"Content-Type: application/x-jsonlines\r\n", ContentType::ndjson},
      {"Content-Type: text/plain\r\n", ContentType::other},
      {"Content-Type: text/x+json\r\n", ContentType::other},
      {"Content-Type: application/jsonp\r\n", ContentType::other},
      {"Content-Type: application/x-www-form-urlencoded\r\n", ContentType::other},
      {"Content-Type:\r\n", ContentType::other},
      {"", ContentType::none},
  };
  for (const CT& t : table) {
    INFO(t.header);
    const std::string in = "POST /api/usages HTTP/1.1\r\nHost: x\r\n" + std::string(t.header) +
                           "Content-Length: 2\r\n\r\n{}";
    for (size_t cut = 1; cut < in.size(); ++cut) {
      const ParseRun run = parse_pieces(in, {cut}, limits);
      REQUIRE(run.error == ParseError::none);
      REQUIRE(run.requests.size() == 1);
      REQUIRE(run.requests[0].content_type == t.want);
    }
  }
}

TEST_CASE("body split across two receives is reassembled", "[http]") {
  const Limits limits = test_limits();
  std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes);
  Parser p;
  p.init(&limits, staging.data(), target.data());
  const std::string in = post(kBody);
  const size_t cut = in.size() - 10;
  std::string first = in.substr(0, cut), second = in.substr(cut);
  size_t used = 0;
  REQUIRE(p.feed(first.data(), first.size(), used) == Event::head);
  const size_t off = used;
  REQUIRE(p.feed(first.data() + off, first.size() - off, used) == Event::need_more);
  CHECK(p.in_request());
  p.stash();
  first.assign(first.size(), '#');  // the receive buffer is reused
  REQUIRE(p.feed(second.data(), second.size(), used) == Event::request);
  CHECK(used == second.size());
  CHECK(p.body() == kBody);
  CHECK(p.body().data() == staging.data());  // gathered in the staging area
  CHECK_FALSE(p.in_request());
}

TEST_CASE("a body that arrives in one piece is not copied", "[http]") {
  const Limits limits = test_limits();
  std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes);
  Parser p;
  p.init(&limits, staging.data(), target.data());
  const std::string in = post(kBody);
  size_t used = 0, off = 0;
  REQUIRE(p.feed(in.data(), in.size(), used) == Event::head);
  off += used;
  REQUIRE(p.feed(in.data() + off, in.size() - off, used) == Event::request);
  CHECK(p.body() == kBody);
  CHECK(p.body().data() == in.data() + in.size() - kBody.size());
}

TEST_CASE("a request ending exactly at a PROT_NONE page is parsed without over-reading", "[http]") {
  const Limits limits = test_limits();
  for (const std::string& in :
       {post(kBody), std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        std::string("POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        std::string("GET /healthz HTTP/1.1\r\nHost: x")}) {
    GuardedBytes g(in);
    REQUIRE(g.ok());
    std::vector<char> staging(limits.max_body + 64), target(limits.max_target_bytes);
    Parser p;
    p.init(&limits, staging.data(), target.data());
    size_t used = 0, off = 0;
    Event ev = Event::head;
    int requests = 0;
    while (ev == Event::head || ev == Event::request) {
      ev = p.feed(g.data() + off, g.size() - off, used);
      off += used;
      if (ev == Event::request) ++requests;
    }
    CHECK(ev == Event::need_more);
    CHECK(off == in.size());
    CHECK(requests == (in.back() == 'x' ? 0 : 1));
  }
}

TEST_CASE("discard_body drops a body without gathering or limiting it", "[http]") {
  Limits limits = test_limits();
  std::string chunked = "POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += "400\r\n" + std::string(1024, 'd') + "\r\n";
  chunked += "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t cut : {size_t{10}, size_t{100}, size_t{2000}, chunked.size() - 5}) {
    const ParseRun run = parse_pieces(chunked, {cut}, limits, true);
    REQUIRE(run.error == ParseError::none);
    REQUIRE(run.requests.size() == 2);
    CHECK(run.requests[0].body.empty());
    CHECK(run.requests[1].target == "/healthz");
  }
}

TEST_CASE("a target of exactly the limit is accepted", "[http]") {
  const Limits limits = test_limits();
  const std::string target = "/" + std::string(limits.max_target_bytes - 1, 'a');
  const std::string in = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t cut : {size_t{5}, size_t{600}, size_t{2047}, in.size() - 3}) {
    const ParseRun run = parse_pieces(in, {cut}, limits);
    REQUIRE(run.error == ParseError::none);
    REQUIRE(run.requests.size() == 1);
    CHECK(run.requests[0].target == target);
  }
}

TEST_CASE("a body of exactly max_body is accepted, with Content-Length and chunked", "[http]") {
  const Limits limits = test_limits();
  const std::string body(limits.max_body, 'b');
  const ParseRun cl = parse_pieces(post(body), {100, 700}, limits);
  REQUIRE(cl.error == ParseError::none);
  REQUIRE(cl.requests.size() == 1);
  CHECK(cl.requests[0].body == body);
  const std::string chunked = "POST /api/usages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" +
                              body.substr(0, 512) + "\r\n200\r\n" + body.substr(512) + "\r\n0\r\n\r\n";
  const ParseRun ch = parse_pieces(chunked, {300, 900}, limits);
  REQUIRE(ch.error == ParseError::none);
  REQUIRE(ch.requests.size() == 1);
  CHECK(ch.requests[0].body == body);
}
