// Pipelining: many requests written on one connection in one go come back as as many
// responses, in request order. Order is proven, not assumed: each body carries its sequence
// number, and the record stored under the n-th response's id must be the n-th body sent.
// A writer thread sends while the test reads, as a real pipelining client does.
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

// Sends `bytes` from a thread (the server may stop reading until we read its responses).
class Writer {
 public:
  Writer(Client& c, std::string bytes) : bytes_(std::move(bytes)), thread_([this, &c] { ok_ = c.send(bytes_); }) {}
  ~Writer() {
    if (thread_.joinable()) thread_.join();
  }
  bool join() {
    thread_.join();
    return ok_;
  }

 private:
  std::string bytes_;
  bool ok_ = false;
  std::thread thread_;
};


// Writes n POSTs in one go and checks n responses in order, all 201, ids distinct, and (after a
// clean stop) that the n-th response's id holds the n-th body.
void check_pipeline(int n) {
  TestServer s;
  std::vector<std::string> bodies;
  std::string all;
  for (int i = 0; i < n; ++i) {
    bodies.push_back(usage_body("pipelined-" + std::to_string(i)));
    all += post_request(bodies.back());
  }
  std::vector<uint64_t> ids;
  {
    Client c(s.port());
    REQUIRE(c.connected());
    Writer writer(c, all);
    for (int i = 0; i < n; ++i) {
      auto r = c.read_response(20'000);
      INFO("response " << i << " of " << n << " (" << all.size() << " bytes sent in one go): " << c.last_error());
      REQUIRE(r.has_value());
      REQUIRE(r->status == 201);
      ids.push_back(id_of(*r));
      REQUIRE(ids.back() > 0);
    }
    CHECK(writer.join());
  }
  CHECK(std::set<uint64_t>(ids.begin(), ids.end()).size() == ids.size());
  const auto stored = stop_and_read(s);
  CHECK(stored.size() == static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto it = stored.find(ids[static_cast<size_t>(i)]);
    INFO("response " << i << " id " << ids[static_cast<size_t>(i)]);
    REQUIRE(it != stored.end());
    CHECK(it->second == bodies[static_cast<size_t>(i)]);
  }
}

}  // namespace

TEST_CASE("200 pipelined POSTs, more than one connection queues at once, come back in order",
          "[blackbox]") {
  check_pipeline(200);
}

// Regression: with more than 64 KiB pipelined ahead, the server closed the connection without
// a single response (its input backlog overflowed) instead of applying backpressure.
TEST_CASE("1000 pipelined POSTs come back as 1000 responses in order", "[blackbox]") {
  check_pipeline(1000);
}

TEST_CASE("pipelined answers that are ready at once keep their place among POSTs", "[blackbox]") {
  TestServer s;
  // Immediate answers (404, 200, 405, 422) between POSTs that wait for their write.
  const std::vector<std::pair<std::string, int>> plan = {
      {post_request(usage_body("p0")), 201},
      {post_request(usage_body("p1")), 201},
      {get_request("/nope"), 404},
      {post_request(usage_body("p2")), 201},
      {get_request("/healthz"), 200},
      {get_request("/api/usages"), 405},
      {post_request(R"({"patientId":1.5,"timestamp":"t","medication":"m"})"), 422},
      {post_request(usage_body("p3")), 201},
      {get_request("/nope?x=1"), 404},
  };
  std::string all;
  for (const auto& step : plan) all += step.first;
  std::map<uint64_t, std::string> sent;
  {
    Client c(s.port());
    REQUIRE(c.send(all));
    int posted = 0;
    for (size_t i = 0; i < plan.size(); ++i) {
      auto r = c.read_response();
      INFO("response " << i << ": " << c.last_error());
      REQUIRE(r.has_value());
      CHECK(r->status == plan[i].second);
      if (r->status == 201) sent.emplace(id_of(*r), usage_body("p" + std::to_string(posted++)));
    }
    // Nothing more than one response per request.
    c.shutdown_write();
    CHECK(c.closed_by_peer());
  }
  CHECK(stop_and_read(s) == sent);
}

TEST_CASE("a pipelined request after a closing error is not answered", "[blackbox]") {
  TestServer s;
  Client c(s.port());
  REQUIRE(c.send(post_request(usage_body("before")) + "GARBAGE\r\n\r\n" + get_request("/healthz")));
  auto first = c.read_response();
  REQUIRE(first.has_value());
  CHECK(first->status == 201);
  auto second = c.read_response();
  REQUIRE(second.has_value());
  check_error(*second, 400, "malformed_http");
  CHECK(c.closed_by_peer());
}
