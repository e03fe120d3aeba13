// Many clients at once: 200 connections opened together, each posting several requests on
// keep-alive. Every request gets 201, every id is unique across the shards, and the log holds
// exactly those records with their bodies.
#include <latch>
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

struct ClientResult {
  std::vector<std::pair<uint64_t, std::string>> created;  // id, body
  std::vector<int> other_statuses;
  std::string error;
};

void run_client(uint16_t port, int index, int requests, std::latch& start, ClientResult& out) {
  Client c(port);
  start.arrive_and_wait();  // every connection is open before the first request
  if (!c.connected()) {
    out.error = c.last_error();
    return;
  }
  for (int i = 0; i < requests; ++i) {
    const std::string body = usage_body("client-" + std::to_string(index) + "-" + std::to_string(i));
    if (!c.send(post_request(body))) {
      out.error = c.last_error();
      return;
    }
    auto r = c.read_response(30'000);
    if (!r) {
      out.error = c.last_error();
      return;
    }
    if (r->status == 201) out.created.emplace_back(id_of(*r), body);
    else out.other_statuses.push_back(r->status);
  }
}

}  // namespace

TEST_CASE("200 concurrent connections posting together all get 201 with unique ids", "[blackbox]") {
  constexpr int kClients = 200;
  constexpr int kPerClient = 5;
  TestServer s;
  std::vector<ClientResult> results(kClients);
  {
    std::latch start(kClients);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; ++i)
      threads.emplace_back(run_client, s.port(), i, kPerClient, std::ref(start),
                           std::ref(results[static_cast<size_t>(i)]));
    for (auto& t : threads) t.join();
  }
  std::map<uint64_t, std::string> sent;
  size_t duplicates = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const ClientResult& r = results[i];
    INFO("client " << i << ": " << r.error);
    CHECK(r.error.empty());
    CHECK(r.other_statuses.empty());
    CHECK(r.created.size() == static_cast<size_t>(kPerClient));
    for (const auto& [id, body] : r.created) {
      CHECK(id > 0);
      if (!sent.emplace(id, body).second) ++duplicates;
    }
  }
  CHECK(duplicates == 0);
  CHECK(sent.size() == static_cast<size_t>(kClients * kPerClient));

  CHECK(stop_and_read(s) == sent);
}

TEST_CASE("connections are spread over the shards and each shard's log holds records",
          "[blackbox]") {
  TestServer s({"--threads", "2"});
  {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 64; ++i) clients.push_back(std::make_unique<Client>(s.port()));
    for (auto& c : clients) REQUIRE(c->send(post_request(usage_body("spread"))));
    for (auto& c : clients) {
      auto r = c->read_response();
      REQUIRE(r.has_value());
      CHECK(r->status == 201);
    }
  }
  REQUIRE(s.server->stop().code == 0);
  std::set<uint32_t> shards;
  for (const auto& rec : read_records(s.dir.path())) shards.insert(rec.shard);
  // SO_REUSEPORT hashes connections over both listeners; 64 all landing on one is ~1e-19.
  CHECK(shards == std::set<uint32_t>{0, 1});
}
