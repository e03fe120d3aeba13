// RFC 9112 through the real server (issue 18): one table of raw requests, each row naming the
// section it checks, sent on a fresh connection followed by a pipelined GET /healthz. Each row
// says the status and error code of the answer, whether the server then closes (the probe is
// never answered) or keeps the connection (the probe gets 200), and whether the request's
// record is stored. A smuggled request carries a usage tagged "smuggled": none may be stored.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "harness.h"
#include "hostile.h"

using namespace blackbox;

namespace {

struct Row {
  const char* section;
  const char* name;
  std::string request;
  int status;
  const char* code;  // the error code, or "" for a success
  bool closes;
  const char* stored_tag = "";  // the tag of the record this request stores, if any
};

const std::string kProbe = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

std::string chunked_head() {
  return "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
}

std::string hex(size_t n) {
  char s[32];
  std::snprintf(s, sizeof s, "%zx", n);
  return s;
}

// A chunked POST of the usage tagged `tag`, in one chunk whose size line is `size_line_end`
// after the size ("\r\n" when well formed).
std::string one_chunk(const std::string& tag, const std::string& size_line_end, const std::string& last = "0\r\n\r\n") {
  const std::string b = usage_body(tag);
  return chunked_head() + hex(b.size()) + size_line_end + b + "\r\n" + last;
}

std::string post_with(const std::string& tag, const std::string& head_extra, const std::string& target = "/api/usages",
                      const std::string& cl_suffix = "") {
  const std::string b = usage_body(tag);
  return "POST " + target + " HTTP/1.1\r\n" + head_extra + "Content-Type: application/json\r\nContent-Length: " +
         std::to_string(b.size()) + cl_suffix + "\r\n\r\n" + b;
}

std::vector<Row> rows() {
  // A desync: the front end sees one request whose chunk extension hides the rest; busyring,
  // if it took the bare CR as a line end, would see a hidden request.
  const std::string desync = chunked_head() + "2;\r" + "X" + "\r\n{}\r\n0\r\n\r\n";
  return {
      // 7.1 / 2.2: every chunk line ends in CRLF; 400 and close.
      {"7.1 smuggling", "bare CR ends the chunk-size line", one_chunk("smuggled", "\rX"), 400, "malformed_http", true},
      {"7.1 smuggling", "bare CR ends the last chunk", one_chunk("smuggled", "\r\n", "0\rX\r\n"), 400, "malformed_http",
       true},
      {"7.1.1 smuggling", "bare CR after a chunk extension", one_chunk("smuggled", ";a=b\r\r\n"), 400, "malformed_http",
       true},
      {"7.1.1 smuggling", "extension ending in a bare CR then a byte", desync, 400, "malformed_http", true},
      {"7.1.2", "bare CR in a trailer field", one_chunk("smuggled", "\r\n", "0\r\nX-T: 1\rX\r\n\r\n"), 400,
       "malformed_http", true},
      {"7.1", "chunk size over --max-body, refused at its size line", chunked_head() + "100000\r\n", 413,
       "body_too_large", true},
      // 7.1.1: valid chunk extensions.
      {"7.1.1", "several chunk extensions", one_chunk("ext-several", ";a=b;c=d\r\n"), 201, "", false, "ext-several"},
      {"7.1.1", "quoted-pair in a quoted extension value", one_chunk("ext-quoted", ";a=\"b\\\"c\"\r\n"), 201, "", false,
       "ext-quoted"},
      {"7.1.1", "BWS around ';' and '='", one_chunk("ext-bws", " ; a = b\r\n"), 201, "", false, "ext-bws"},
      // 9.6: Connection: close with trailing OWS closes.
      {"9.6", "Connection: close followed by a tab", post_with("conn-close-tab", "Host: x\r\nConnection: close\t\r\n"),
       201, "", true, "conn-close-tab"},
      // 3.2: Host.
      {"3.2", "HTTP/1.1 without Host", post_with("smuggled", ""), 400, "malformed_http", true},
      {"3.2", "two Host lines", post_with("smuggled", "Host: a\r\nHost: a\r\n"), 400, "malformed_http", true},
      {"3.2", "Host with a space", post_with("smuggled", "Host: a b\r\n"), 400, "malformed_http", true},
      {"3.2", "HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 200, "", false},
      // 3.2.2: absolute-form.
      {"3.2.2", "absolute-form target", post_with("absolute", "Host: a\r\n", "http://a/api/usages"), 201, "", false,
       "absolute"},
      {"3.2.2", "absolute-form GET /healthz", "GET http://a:3000/healthz?x HTTP/1.1\r\nHost: a\r\n\r\n", 200, "",
       false},
      {"3.2.2", "absolute-form to an unknown path", "GET http://a/nowhere HTTP/1.1\r\nHost: a\r\n\r\n", 404,
       "not_found", false},
      // 6.3: Content-Length with trailing OWS.
      {"6.3", "Content-Length followed by a tab", post_with("cl-tab", "Host: x\r\n", "/api/usages", "\t"), 201, "",
       false, "cl-tab"},
      // RFC 9110 9.1 / 15.6.2: an unknown method is 501 and the connection stays.
      {"9110 9.1", "unknown method FOO", "FOO /api/usages HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented", false},
      {"9110 9.1", "QUERY with a body", post_with("smuggled", "Host: x\r\n").replace(0, 4, "QUERY"), 501,
       "not_implemented", false},
      {"9110 9.3", "a known method we do not serve", "DELETE /api/usages HTTP/1.1\r\nHost: x\r\n\r\n", 405,
       "method_not_allowed", false},
  };
}

}  // namespace

TEST_CASE("RFC 9112 table: each raw request gets its status, keeps or closes, and stores only what it should",
          "[blackbox][rfc9112]") {
  TestServer s({"--max-body", "4K", "--request-timeout", "30000"});
  std::vector<std::string> want_tags;
  for (const Row& row : rows()) {
    INFO("RFC " << row.section << ": " << row.name);
    INFO("request: " << row.request);
    Client c(s.port());
    REQUIRE(c.send(row.request + kProbe));
    // Well under --request-timeout: a refusal comes from the bytes, not from a timer.
    const auto r = c.read_response(5'000);
    INFO("client: " << c.last_error());
    REQUIRE(r.has_value());
    CHECK(r->status == row.status);
    if (*row.code != '\0') {
      check_error(*r, row.status, row.code);
    }
    if (row.closes) {
      CHECK(r->header("Connection").value_or("") == "close");
      CHECK(c.closed_by_peer());
    } else {
      const auto probe = c.read_response(5'000);
      REQUIRE(probe.has_value());
      CHECK(probe->status == 200);
    }
    if (*row.stored_tag != '\0') want_tags.push_back(row.stored_tag);
  }
  const ExitStatus st = s.server->stop();
  INFO(describe(st));
  REQUIRE((st.exited && st.code == 0));
  std::vector<std::string> got_tags;
  for (const StoredRecord& rec : read_records(s.dir.path())) {
    const size_t at = rec.body.find("\"tag\":\"");
    REQUIRE(at != std::string::npos);
    got_tags.push_back(rec.body.substr(at + 7, rec.body.find('"', at + 7) - at - 7));
  }
  std::sort(want_tags.begin(), want_tags.end());
  std::sort(got_tags.begin(), got_tags.end());
  CHECK(got_tags == want_tags);  // nothing tagged "smuggled"
}
