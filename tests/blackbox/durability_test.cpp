// What a 201 promises, checked on disk with the server's own codec: every acknowledged record
// is in the log with the exact body sent, after SIGTERM, SIGINT or SIGKILL; restarts never
// reissue an id that a record holds, and ids stay dense; one data dir, one server.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

using IdBodies = std::map<uint64_t, std::string>;

// Posts `count` usages over `connections` keep-alive connections (round robin); REQUIREs 201.
IdBodies post_many(uint16_t port, const std::string& tag, int count, int connections) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < connections; ++i) clients.push_back(std::make_unique<Client>(port));
  IdBodies sent;
  for (int i = 0; i < count; ++i) {
    const std::string body = usage_body(tag + "-" + std::to_string(i));
    const Response r = roundtrip(*clients[static_cast<size_t>(i % connections)], post_request(body));
    REQUIRE(r.status == 201);
    REQUIRE(sent.emplace(id_of(r), body).second);
  }
  return sent;
}



// `writers` threads post on their own connections until `acks` 201s have arrived in all; then
// the server is SIGKILLed mid-load. Returns what was acknowledged.
IdBodies load_then_kill9(ServerProcess& server, int writers, size_t acks) {
  std::mutex mu;
  std::condition_variable cv;
  IdBodies acked;
  std::vector<std::thread> threads;
  // Runs on every path (a REQUIRE throws too): the server dies, so the writers end and join.
  struct Finish {
    ServerProcess& server;
    std::vector<std::thread>& threads;
    ~Finish() {
      (void)server.kill9();
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } finish{server, threads};
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      Client c(server.port());
      for (int i = 0;; ++i) {
        const std::string body = usage_body("load-" + std::to_string(w) + "-" + std::to_string(i));
        if (!c.send(post_request(body))) return;
        const auto r = c.read_response(10'000);
        if (!r || r->status != 201) return;  // the server is gone
        std::lock_guard<std::mutex> lock(mu);
        acked.emplace(id_of(*r), body);
        cv.notify_all();
      }
    });
  }
  std::unique_lock<std::mutex> lock(mu);
  REQUIRE(cv.wait_for(lock, std::chrono::seconds(20), [&] { return acked.size() >= acks; }));
  lock.unlock();
  const ExitStatus st = server.kill9();
  CHECK(st.signal == SIGKILL);
  for (auto& t : threads) t.join();
  return acked;
}

}  // namespace

TEST_CASE("every acknowledged record is on disk with its exact body after SIGTERM", "[blackbox]") {
  TestServer s;
  const IdBodies sent = post_many(s.port(), "term", 300, 6);
  stop_cleanly(*s.server);
  CHECK(stored_unique(s.dir.path()) == sent);
}

TEST_CASE("SIGINT stops the server cleanly like SIGTERM", "[blackbox]") {
  TestServer s;
  const IdBodies sent = post_many(s.port(), "int", 20, 2);
  stop_cleanly(*s.server, SIGINT);
  CHECK(stored_unique(s.dir.path()) == sent);
}

TEST_CASE("acknowledged records survive SIGKILL and the restart recovers them", "[blackbox]") {
  TempDir dir;
  IdBodies sent;
  {
    auto server = start_server(dir.path());
    sent = post_many(server->port(), "kill9", 200, 4);
    const ExitStatus st = server->kill9();
    CHECK((!st.exited && st.signal == SIGKILL));
  }
  const IdBodies after_crash = stored_unique(dir.path());
  for (const auto& [id, body] : sent) {
    INFO("acknowledged id " << id);
    REQUIRE(after_crash.count(id) == 1);
    CHECK(after_crash.at(id) == body);
  }
  auto server = start_server(dir.path());
  CHECK(server->stderr_text().find(std::to_string(after_crash.size()) + " records recovered") != std::string::npos);
  const IdBodies more = post_many(server->port(), "after-kill9", 50, 2);
  for (const auto& [id, body] : more) CHECK(after_crash.count(id) == 0);
  stop_cleanly(*server);
  IdBodies expected = after_crash;
  expected.insert(more.begin(), more.end());
  CHECK(stored_unique(dir.path()) == expected);
}

TEST_CASE("SIGKILL under load loses no acknowledged record and the restart reissues none",
          "[blackbox]") {
  TempDir dir;
  auto server = start_server(dir.path());
  const IdBodies acked = load_then_kill9(*server, 8, 400);
  const IdBodies after_crash = stored_unique(dir.path());
  for (const auto& [id, body] : acked) {
    INFO("acknowledged id " << id);
    REQUIRE(after_crash.count(id) == 1);
    CHECK(after_crash.at(id) == body);
  }
  server = start_server(dir.path());
  const IdBodies more = post_many(server->port(), "after-load", 100, 4);
  for (const auto& [id, body] : more) {
    INFO("id " << id << " is already on disk");
    CHECK(after_crash.count(id) == 0);
  }
  stop_cleanly(*server);
  IdBodies expected = after_crash;
  expected.insert(more.begin(), more.end());
  CHECK(stored_unique(dir.path()) == expected);
}

TEST_CASE("a restart issues only ids that no record holds, and ids stay dense", "[blackbox]") {
  constexpr uint64_t kThreads = 2, kIdBlock = 32;
  TempDir dir;
  IdBodies all;
  for (int run = 0; run < 3; ++run) {
    INFO("run " << run);
    auto server = start_server(dir.path(), {"--id-block", std::to_string(kIdBlock)});
    const IdBodies fresh = post_many(server->port(), "run" + std::to_string(run), 70, 5);
    for (const auto& [id, body] : fresh) {
      INFO("id " << id << " was issued again");
      CHECK(all.count(id) == 0);
    }
    all.insert(fresh.begin(), fresh.end());
    stop_cleanly(*server);
    const IdBodies on_disk = stored_unique(dir.path());
    CHECK(on_disk == all);
    // Dense: ids 1..max with at most threads x id-block missing.
    const uint64_t max_id = on_disk.rbegin()->first;
    CHECK(on_disk.begin()->first >= 1);
    CHECK(max_id - on_disk.size() <= kThreads * kIdBlock);
  }
}

TEST_CASE("SIGTERM during a pipelined burst answers what it took and loses no acknowledged record",
          "[blackbox]") {
  TestServer s;
  std::vector<std::string> bodies;
  std::string burst;
  for (int i = 0; i < 300; ++i) {
    bodies.push_back(usage_body("burst-" + std::to_string(i)));
    burst += post_request(bodies.back());
  }
  Client c(s.port());
  REQUIRE(c.send(burst));
  auto first = c.read_response();
  REQUIRE(first.has_value());
  REQUIRE(first->status == 201);
  REQUIRE(kill(s.server->pid(), SIGTERM) == 0);
  IdBodies acked{{id_of(*first), bodies[0]}};
  for (size_t i = 1; i < bodies.size(); ++i) {
    auto r = c.read_response();
    if (!r) break;  // the server stopped reading: the rest were never taken
    REQUIRE(r->status == 201);
    acked.emplace(id_of(*r), bodies[i]);
  }
  const ExitStatus st = s.server->wait_exit(15'000);
  INFO(describe(st) << "\n" << s.server->stderr_text());
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  const IdBodies on_disk = stored_unique(s.dir.path());
  for (const auto& [id, body] : acked) {
    INFO("acknowledged id " << id);
    REQUIRE(on_disk.count(id) == 1);
    CHECK(on_disk.at(id) == body);
  }
}

TEST_CASE("a second server on the same data dir refuses to start", "[blackbox]") {
  TestServer s;
  ServerProcess second({"--port", "0", "--data-dir", s.dir.path(), "--threads", "2", "--segment-size", "1M"});
  const ExitStatus st = second.wait_exit();
  const std::string err = second.stderr_text();
  INFO(describe(st) << "\nstderr:\n" << err);
  CHECK(st.exited);
  CHECK(st.code != 0);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
  std::string lower = err;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  CHECK(lower.find("lock") != std::string::npos);
  CHECK(err.find(s.dir.path()) != std::string::npos);
  CHECK(err.find("listening on") == std::string::npos);
  // The first one still serves, and its log was not touched by the refused start.
  Client c(s.port());
  CHECK(roundtrip(c, post_request(usage_body("still-serving"))).status == 201);
  stop_cleanly(*s.server);
  CHECK(stored_unique(s.dir.path()).size() == 1);
}
