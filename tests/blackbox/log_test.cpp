// The log across its boundaries: records of mixed sizes rolling over many 1 MiB segments,
// every --ack mode, and a change of --threads between runs (shard dirs of an earlier run are
// still recovered, and no id is issued twice). All checked byte-exact with the codec.
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "busyring/storage/segment.h"
#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

using IdBodies = std::map<uint64_t, std::string>;



// Posts bodies of the given pad sizes, `pipeline` at a time per write; REQUIREs 201 each.
IdBodies post_sizes(uint16_t port, const std::string& tag, const std::vector<size_t>& pads, size_t pipeline) {
  Client c(port);
  IdBodies sent;
  for (size_t i = 0; i < pads.size(); i += pipeline) {
    std::vector<std::string> bodies;
    std::string batch;
    for (size_t j = i; j < std::min(pads.size(), i + pipeline); ++j) {
      bodies.push_back(usage_body(tag + std::to_string(j) + "-" + std::string(pads[j], 'p')));
      batch += post_request(bodies.back());
    }
    REQUIRE(c.send(batch));
    for (const auto& body : bodies) {
      const auto r = c.read_response();
      INFO("client: " << c.last_error());
      REQUIRE(r.has_value());
      REQUIRE(r->status == 201);
      REQUIRE(sent.emplace(id_of(*r), body).second);
    }
  }
  return sent;
}

}  // namespace

TEST_CASE("records of mixed sizes roll over many segments and are all recovered", "[blackbox]") {
  TempDir dir;
  std::mt19937 rng(20161101);
  std::uniform_int_distribution<size_t> size(0, 60'000);
  std::vector<size_t> pads(120);
  for (auto& p : pads) p = size(rng);
  const std::vector<std::string> args = {"--threads", "1", "--max-body", "64K"};
  IdBodies expected;
  {
    auto server = start_server(dir.path(), args);
    expected = post_sizes(server->port(), "roll", pads, 3);
    stop_cleanly(*server);
  }
  std::vector<uint32_t> segments;
  REQUIRE(busyring::storage::list_segments(busyring::storage::shard_dir(dir.path(), 0), segments) == 0);
  CHECK(segments.size() >= 3);  // ~3.6 MiB of bodies in 1 MiB segments
  CHECK(stored_unique(dir.path()) == expected);
  {
    auto server = start_server(dir.path(), args);
    const IdBodies more = post_sizes(server->port(), "again", std::vector<size_t>(40, 30'000), 2);
    for (const auto& [id, body] : more) CHECK(expected.count(id) == 0);
    expected.insert(more.begin(), more.end());
    stop_cleanly(*server);
  }
  CHECK(stored_unique(dir.path()) == expected);
}

TEST_CASE("every --ack mode stores each acknowledged record by a clean stop", "[blackbox]") {
  for (const char* mode : {"durable", "written", "memory"}) {
    INFO("--ack " << mode);
    TestServer s({"--ack", mode});
    std::vector<size_t> pads(60);
    for (size_t i = 0; i < pads.size(); ++i) pads[i] = (i * 97) % 700;
    const IdBodies sent = post_sizes(s.port(), mode, pads, 10);
    const std::string err = s.server->stderr_text();
    CHECK(err.find(std::string("--ack=") + mode) != std::string::npos);
    if (std::string(mode) == "memory") CHECK(err.find("UNSAFE") != std::string::npos);
    stop_cleanly(*s.server);
    CHECK(stored_unique(s.dir.path()) == sent);
  }
}

TEST_CASE("changing --threads between runs keeps every record and issues no id twice", "[blackbox]") {
  TempDir dir;
  IdBodies all;
  for (const char* threads : {"2", "1", "3", "2"}) {
    INFO("--threads " << threads);
    auto server = start_server(dir.path(), {"--threads", threads});
    IdBodies fresh;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 12; ++i) clients.push_back(std::make_unique<Client>(server->port()));
    for (int round = 0; round < 3; ++round) {
      for (size_t i = 0; i < clients.size(); ++i) {
        const std::string body = usage_body(std::string("t") + threads + "-" + std::to_string(round) + "-" +
                                            std::to_string(i));
        const Response r = roundtrip(*clients[i], post_request(body));
        REQUIRE(r.status == 201);
        REQUIRE(fresh.emplace(id_of(r), body).second);
      }
    }
    clients.clear();
    for (const auto& [id, body] : fresh) {
      INFO("id " << id << " issued again");
      CHECK(all.count(id) == 0);
    }
    all.insert(fresh.begin(), fresh.end());
    stop_cleanly(*server);
    CHECK(stored_unique(dir.path()) == all);
  }
}
