// net/workspace and the connection table's attach/detach (issue 6: an idle connection holds no
// workspace). The pool hands out distinct, non-overlapping workspaces up to its capacity and
// none past it, reuses the last one returned first (its pages are warm), and gives every page
// back on request. A connection keeps its parser across workspaces: requests parse the same
// after a detach and an attach to another workspace, and a request that ended the HTTP framing
// (Upgrade, CONNECT) is still refused after one, as if the next bytes had been parsed.
#include "net/connection.h"
#include "net/workspace.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <string>
#include <vector>

using namespace busyring;
using namespace busyring::net;

namespace {

constexpr uint32_t kMaxTarget = 2048;
constexpr uint32_t kMaxBody = 64 * 1024;
constexpr uint32_t kPadding = 64;

// Feeds one whole request; REQUIREs the head and the request events; returns the target.
std::string parse_request(http::Parser& p, const std::string& bytes) {
  size_t off = 0;
  size_t used = 0;
  REQUIRE(p.feed(bytes.data(), bytes.size(), used) == http::Event::head);
  off += used;
  const std::string target(p.head().target);
  REQUIRE(p.feed(bytes.data() + off, bytes.size() - off, used) == http::Event::request);
  off += used;
  REQUIRE(off == bytes.size());
  REQUIRE(!p.in_request());
  return target;
}

}  // namespace

TEST_CASE("workspaces_for: one per connection, capped", "[net][workspace]") {
  REQUIRE(workspaces_for(1) == 1);
  REQUIRE(workspaces_for(100) == 100);
  REQUIRE(workspaces_for(kMaxWorkspaces) == kMaxWorkspaces);
  REQUIRE(workspaces_for(10'000) == kMaxWorkspaces);
}

TEST_CASE("the pool hands out distinct workspaces up to its capacity, LIFO", "[net][workspace]") {
  WorkspacePool pool;
  REQUIRE(pool.init(4, kMaxTarget, kMaxBody, kPadding) == 0);
  REQUIRE(pool.capacity() == 4);
  std::vector<Workspace*> taken;
  for (int i = 0; i < 4; ++i) {
    Workspace* w = pool.take();
    REQUIRE(w != nullptr);
    taken.push_back(w);
  }
  REQUIRE(pool.take() == nullptr);  // all in use: the caller waits
  REQUIRE(pool.in_use() == 4);
  REQUIRE(pool.high_water() == 4);

  // Every region of every workspace is usable and none overlaps another: fill each with its
  // own byte, then check them all.
  for (size_t i = 0; i < taken.size(); ++i) {
    Workspace& w = *taken[i];
    const int b = static_cast<int>('a' + i);
    std::memset(w.target, b, kMaxTarget);
    std::memset(static_cast<void*>(w.queue), b, kPipelineDepth * sizeof(http::Pending));
    std::memset(w.out, b, kOutBytes);
    std::memset(w.backlog, b, 4096);  // its start and its end (address space, not all touched)
    std::memset(w.backlog + kBacklogBytes - 4096, b, 4096);
    std::memset(w.staging, b, kMaxBody + kPadding);
  }
  for (size_t i = 0; i < taken.size(); ++i) {
    Workspace& w = *taken[i];
    const char b = static_cast<char>('a' + i);
    const auto* q = reinterpret_cast<const char*>(w.queue);
    CHECK(w.target[0] == b);
    CHECK(w.target[kMaxTarget - 1] == b);
    CHECK(q[0] == b);
    CHECK(q[kPipelineDepth * sizeof(http::Pending) - 1] == b);
    CHECK(w.out[0] == b);
    CHECK(w.out[kOutBytes - 1] == b);
    CHECK(w.backlog[0] == b);
    CHECK(w.backlog[kBacklogBytes - 1] == b);
    CHECK(w.staging[0] == b);
    CHECK(w.staging[kMaxBody + kPadding - 1] == b);
  }

  pool.give_back(*taken[1]);
  pool.give_back(*taken[3]);
  REQUIRE(pool.in_use() == 2);
  REQUIRE(pool.take() == taken[3]);  // the warmest first
  REQUIRE(pool.take() == taken[1]);
  REQUIRE(pool.take() == nullptr);
}

TEST_CASE("the pool gives every page back once none is in use", "[net][workspace]") {
  WorkspacePool pool;
  REQUIRE(pool.init(2, kMaxTarget, kMaxBody, kPadding) == 0);
  Workspace* a = pool.take();
  Workspace* b = pool.take();
  std::memset(a->out, 'x', kOutBytes);
  std::memset(b->staging, 'y', 4096);
  a->backlog_peak = kBacklogReleaseBytes + 1;
  pool.give_back(*a);
  pool.give_back(*b);
  pool.give_back_all();
  REQUIRE(pool.high_water() == 0);
  REQUIRE(pool.in_use() == 0);
  // Fresh zero pages from here on: nothing of the old contents is resident.
  Workspace* c = pool.take();
  REQUIRE(c == a);  // handed out from the start again
  CHECK(c->out[0] == 0);
  CHECK(c->out[kOutBytes - 1] == 0);
  CHECK(c->backlog_peak == 0);
  Workspace* d = pool.take();
  CHECK(d->staging[0] == 0);
}

TEST_CASE("a drained large backlog is given back, a small one kept", "[net][workspace]") {
  WorkspacePool pool;
  REQUIRE(pool.init(1, kMaxTarget, kMaxBody, kPadding) == 0);
  Workspace* w = pool.take();
  std::memset(w->backlog, 'z', 4096);
  w->backlog_peak = 4096;
  pool.trim_backlog(*w);
  CHECK(w->backlog[0] == 'z');  // small: kept warm
  w->backlog_peak = kBacklogReleaseBytes + 1;
  pool.trim_backlog(*w);
  CHECK(w->backlog[0] == 0);
  CHECK(w->backlog_peak == 0);
}

TEST_CASE("connections take workspaces when busy and give them back when idle", "[net][workspace]") {
  http::Limits limits;
  ConnectionTable table;
  REQUIRE(table.init(8, 2, kMaxBody, kPadding, &limits) == 0);
  Connection* a = table.acquire(100);
  Connection* b = table.acquire(101);
  Connection* c = table.acquire(102);
  REQUIRE((a && b && c));
  CHECK(a->ws == nullptr);  // an idle connection holds none
  REQUIRE(table.attach(*a) == ConnectionTable::Attach::ok);
  REQUIRE(table.attach(*b) == ConnectionTable::Attach::ok);
  REQUIRE(table.attach(*c) == ConnectionTable::Attach::none);  // the pool is exhausted
  CHECK(c->ws == nullptr);
  CHECK(table.workspaces().in_use() == 2);

  Workspace* was_a = a->ws;
  table.detach(*a);
  CHECK(a->ws == nullptr);
  REQUIRE(table.attach(*c) == ConnectionTable::Attach::ok);
  CHECK(c->ws == was_a);

  // Releasing a connection gives its workspace back too.
  table.release(*b);
  CHECK(table.workspaces().in_use() == 1);
  table.release(*c);
  table.release(*a);
  CHECK(table.workspaces().in_use() == 0);
  CHECK(table.used() == 0);
}

TEST_CASE("a connection's parser carries on across workspaces", "[net][workspace]") {
  http::Limits limits;
  ConnectionTable table;
  REQUIRE(table.init(4, 2, kMaxBody, kPadding, &limits) == 0);
  Connection* other = table.acquire(100);
  Connection* c = table.acquire(101);
  REQUIRE(table.attach(*c) == ConnectionTable::Attach::ok);
  CHECK(parse_request(c->parser, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n") == "/first");
  Workspace* first = c->ws;
  table.detach(*c);
  // Another connection takes that workspace and scribbles over it.
  REQUIRE(table.attach(*other) == ConnectionTable::Attach::ok);
  REQUIRE(other->ws == first);
  std::memset(first->target, '#', kMaxTarget);
  // The connection parses its next request (body spanning feeds, in staging) in another one.
  REQUIRE(table.attach(*c) == ConnectionTable::Attach::ok);
  REQUIRE(c->ws != first);
  const std::string body = R"({"patientId":"1","timestamp":"t","medication":"m"})";
  const std::string req = "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n" + body;
  size_t used = 0;
  REQUIRE(c->parser.feed(req.data(), req.size() - 10, used) == http::Event::head);
  CHECK(c->parser.head().target == "/api/usages");
  size_t off = used;
  REQUIRE(c->parser.feed(req.data() + off, req.size() - 10 - off, used) == http::Event::need_more);
  c->parser.stash();
  REQUIRE(c->parser.feed(req.data() + req.size() - 10, 10, used) == http::Event::request);
  CHECK(c->parser.body() == body);
  CHECK(c->parser.body().data() == c->ws->staging);
  CHECK(c->parser.keep_alive());
}

TEST_CASE("a request that ended the HTTP framing is refused after a workspace change", "[net][workspace]") {
  http::Limits limits;
  ConnectionTable table;
  REQUIRE(table.init(2, 2, kMaxBody, kPadding, &limits) == 0);
  const char* const ends_framing[] = {
      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
      "CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (const char* request : ends_framing) {
    INFO(request);
    Connection* c = table.acquire(100);
    REQUIRE(table.attach(*c) == ConnectionTable::Attach::ok);  // never used: nothing to check
    parse_request(c->parser, request);
    table.detach(*c);
    CHECK(table.attach(*c) == ConnectionTable::Attach::framing_error);
    table.release(*c);
  }
  // A plain keep-alive request leaves the framing intact.
  Connection* c = table.acquire(100);
  REQUIRE(table.attach(*c) == ConnectionTable::Attach::ok);
  parse_request(c->parser, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  table.detach(*c);
  CHECK(table.attach(*c) == ConnectionTable::Attach::ok);
  table.release(*c);
}
