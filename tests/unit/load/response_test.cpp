// Unit tests of the load generator's response parsing: heads, Content-Length framing,
// Connection: close, ids of 201 replies, malformed input, input split at every byte offset,
// and no read past the end (input placed against a PROT_NONE page).
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "../../../tools/load/response.h"
#include "../../../tools/load/response_stream.h"

using namespace busyring::load;

namespace {

const std::string created = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                            "Content-Length: 12\r\n\r\n{\"id\":22954}";
const std::string not_found = "HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\n\r\nnope!";
const std::string closing = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                            "Retry-After: 1\r\nContent-Length: 0\r\n\r\n";

struct Outcome {
  std::vector<Response> responses;
  bool malformed = false;
};

// Feeds `input` to a fresh stream in pieces of the given sizes (the rest in one piece).
Outcome feed(const std::string& input, std::vector<size_t> pieces, size_t capacity = 4096) {
  ResponseStream stream(capacity);
  Outcome out;
  size_t at = 0;
  pieces.push_back(input.size());
  for (size_t piece : pieces) {
    size_t n = std::min(piece, input.size() - at);
    while (n > 0) {
      const size_t take = std::min(n, stream.space_bytes());
      REQUIRE(take > 0);
      std::memcpy(stream.space(), input.data() + at, take);
      stream.commit(take);
      at += take;
      n -= take;
      Response r;
      for (Next next; (next = stream.next(&r)) != Next::incomplete;) {
        if (next == Next::malformed) {
          out.malformed = true;
          return out;
        }
        out.responses.push_back(r);
      }
    }
  }
  return out;
}

bool same(const Response& a, const Response& b) {
  return a.code == b.code && a.close == b.close && a.has_id == b.has_id && a.id == b.id;
}

}  // namespace

TEST_CASE("a 201 reply yields its status and id", "[load]") {
  const Outcome out = feed(created, {});
  REQUIRE_FALSE(out.malformed);
  REQUIRE(out.responses.size() == 1);
  REQUIRE(out.responses[0].code == 201);
  REQUIRE(out.responses[0].has_id);
  REQUIRE(out.responses[0].id == 22954);
  REQUIRE_FALSE(out.responses[0].close);
}

TEST_CASE("pipelined replies split at every byte offset parse the same", "[load]") {
  const std::string all = created + not_found + created + closing;
  const Outcome whole = feed(all, {});
  REQUIRE(whole.responses.size() == 4);
  REQUIRE(whole.responses[1].code == 404);
  REQUIRE_FALSE(whole.responses[1].has_id);
  REQUIRE(whole.responses[3].code == 503);
  REQUIRE(whole.responses[3].close);
  for (size_t split = 0; split <= all.size(); split++) {
    INFO("split at " << split);
    const Outcome out = feed(all, {split});
    REQUIRE_FALSE(out.malformed);
    REQUIRE(out.responses.size() == 4);
    for (size_t i = 0; i < 4; i++) REQUIRE(same(out.responses[i], whole.responses[i]));
  }
  const Outcome bytewise = feed(all, std::vector<size_t>(all.size(), 1));
  REQUIRE(bytewise.responses.size() == 4);
}

TEST_CASE("response heads are parsed by the table", "[load]") {
  struct Case {
    const char* input;
    HeadStatus status;
    uint16_t code;
    bool close;
    uint64_t body_bytes;
  };
  const Case cases[] = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", HeadStatus::complete, 200, false, 3},
      {"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", HeadStatus::complete, 200, false, 0},
      {"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", HeadStatus::complete, 200, false, 0},
      {"HTTP/1.1 200 OK\r\nCONTENT-LENGTH:  7 \r\n\r\n", HeadStatus::complete, 200, false, 7},
      {"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
       HeadStatus::complete, 200, true, 0},
      {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", HeadStatus::complete, 200, true, 0},
      {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
       HeadStatus::complete, 200, false, 0},
      {"HTTP/1.1 204 No Content\r\n\r\n", HeadStatus::complete, 204, false, 0},
      {"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", HeadStatus::complete, 304,
       false, 0},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
       HeadStatus::complete, 200, false, 1},
      {"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n", HeadStatus::incomplete, 0, false, 0},
      {"HTTP/1.", HeadStatus::incomplete, 0, false, 0},
      {"", HeadStatus::incomplete, 0, false, 0},
      {"HTTX/1.1 200 OK\r\n\r\n", HeadStatus::malformed, 0, false, 0},
      {"hello", HeadStatus::malformed, 0, false, 0},
      {"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", HeadStatus::malformed, 0, false, 0},
      {"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", HeadStatus::malformed, 0, false, 0},
      {"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", HeadStatus::malformed, 0, false, 0},
      {"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", HeadStatus::malformed, 0, false, 0},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", HeadStatus::malformed, 0, false, 0},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HeadStatus::malformed, 0, false, 0},
      {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
       HeadStatus::malformed, 0, false, 0},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       HeadStatus::malformed, 0, false, 0},
      {"HTTP/1.1 200 OK\r\n\r\n", HeadStatus::malformed, 0, false, 0},  // no length
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", HeadStatus::malformed, 0,
       false, 0},
      {"HTTP/1.1 200 OK\r\nNo colon here\r\nContent-Length: 0\r\n\r\n", HeadStatus::malformed,
       0, false, 0},
      {"HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 0\r\n\r\n", HeadStatus::malformed,
       0, false, 0},
      {"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
       HeadStatus::malformed, 0, false, 0},
  };
  for (const Case& c : cases) {
    INFO(c.input);
    const Head head = parse_head(c.input, std::strlen(c.input));
    REQUIRE(head.status == c.status);
    if (c.status != HeadStatus::complete) continue;
    REQUIRE(head.code == c.code);
    REQUIRE(head.close == c.close);
    REQUIRE(head.body_bytes == c.body_bytes);
    REQUIRE(head.head_bytes == std::strlen(c.input));
  }
}

TEST_CASE("201 bodies are parsed by the table", "[load]") {
  struct Case {
    const char* body;
    bool ok;
    uint64_t id;
    uint64_t count = 1;
  };
  const Case cases[] = {
      {"{\"id\":1}", true, 1},
      {"{\"first_id\":7,\"count\":100}", true, 7, 100},  // a batch (issue 20)
      {" { \"first_id\" : 1 , \"count\" : 1 }\n", true, 1, 1},
      {"{\"first_id\":7}", false, 0},
      {"{\"count\":100,\"first_id\":7}", false, 0},
      {"{\"first_id\":7,\"count\":-1}", false, 0},
      {" { \"id\" : 18446744073 }\n", true, 18446744073},
      {"{\"id\":0}", true, 0},
      {"{\"id\":9999999999999999999}", true, 9999999999999999999u},
      {"{\"id\":99999999999999999999}", false, 0},  // over 64 bits
      {"{\"id\":01}", false, 0},
      {"{\"id\":-1}", false, 0},
      {"{\"id\":\"1\"}", false, 0},
      {"{\"id\":1,\"x\":2}", false, 0},
      {"{\"id\":1}x", false, 0},
      {"{\"id\":}", false, 0},
      {"{\"ID\":1}", false, 0},
      {"{\"id\":1", false, 0},
      {"", false, 0},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    uint64_t id = 0, count = 0;
    REQUIRE(parse_id_body(c.body, std::strlen(c.body), &id, &count) == c.ok);
    if (c.ok) REQUIRE(id == c.id);
    if (c.ok) REQUIRE(count == c.count);
  }
}

TEST_CASE("bad HTTP replies are counted as malformed", "[load]") {
  const char* bad[] = {
      "HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\n{\"id\":\"\"}",  // 201 without an id
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "<html>not http</html>",
  };
  for (const char* input : bad) {
    INFO(input);
    REQUIRE(feed(input, {}).malformed);
  }
  // A good reply followed by garbage: the first counts, then the stream fails for good.
  const Outcome out = feed(created + "garbage", {});
  REQUIRE(out.responses.size() == 1);
  REQUIRE(out.malformed);
}

TEST_CASE("a head larger than the buffer is malformed", "[load]") {
  const std::string big = "HTTP/1.1 200 OK\r\nX-Filler: " + std::string(3000, 'a') +
                          "\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(feed(big, {}, 2048).malformed);
  REQUIRE_FALSE(feed(big, {}, 4096).malformed);
}

TEST_CASE("a body larger than the buffer is skipped unless it must hold an id", "[load]") {
  const std::string body(10000, 'x');
  const std::string big = "HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n" + body;
  const Outcome out = feed(big + not_found, {}, 1024);
  REQUIRE_FALSE(out.malformed);
  REQUIRE(out.responses.size() == 2);
  REQUIRE(out.responses[0].code == 200);
  REQUIRE(out.responses[1].code == 404);
  const std::string big_201 = "HTTP/1.1 201 Created\r\nContent-Length: 10000\r\n\r\n" + body;
  REQUIRE(feed(big_201, {}, 1024).malformed);
}

TEST_CASE("interim 100 Continue replies are skipped", "[load]") {
  const Outcome out = feed("HTTP/1.1 100 Continue\r\n\r\n" + created, {});
  REQUIRE(out.responses.size() == 1);
  REQUIRE(out.responses[0].code == 201);
}

TEST_CASE("response parsers never read past the end of their input", "[load]") {
  const long page = sysconf(_SC_PAGESIZE);
  void* map = mmap(nullptr, static_cast<size_t>(2 * page), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(map != MAP_FAILED);
  char* guard = static_cast<char*>(map) + page;
  REQUIRE(mprotect(guard, static_cast<size_t>(page), PROT_NONE) == 0);
  const std::string inputs[] = {created, not_found, closing, "HTTP/1.1 200 OK\r\nA: b"};
  for (const std::string& input : inputs) {
    for (size_t n = 0; n <= input.size(); n++) {  // every prefix, ending at the guard page
      char* at = guard - n;
      std::memcpy(at, input.data(), n);
      (void)parse_head(at, n);
      uint64_t id = 0, count = 0;
      (void)parse_id_body(at, n, &id, &count);
    }
  }
  munmap(map, static_cast<size_t>(2 * page));
}
