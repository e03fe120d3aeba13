// A node whose id reserve runs dry while Redis answers holds the requests for the refill (one
// round trip) instead of answering 503: a burst larger than --id-reserve costs latency, not
// errors. A Redis that does not answer still gets 503 at once (id_source_test.cpp).
#include <sys/stat.h>

#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "cluster_checks.h"

using namespace blackbox;
using namespace blackbox::cluster;

TEST_CASE("cluster: a burst larger than the id reserve waits for the refill, with no 503", "[cluster]") {
  require_cluster_parts();
  TempDir dir;
  REQUIRE(mkdir(dir.sub("redis").c_str(), 0755) == 0);
  Redis redis(dir.sub("redis"));
  REQUIRE(redis.command({"SET", kKey, "0"}).has_value());
  // --id-reserve 2: each Redis call reserves a single id, so 128 requests in flight drain the
  // reserve at once and all but one of them find it empty.
  ServerProcess node({"--port", "0", "--bind", "127.0.0.1", "--data-dir", dir.sub("node"), "--threads", "1",
                      "--cpu-affinity", "none", "--id-source", redis.url(), "--id-source-password-file",
                      redis.credentials_file(), "--id-reserve", "2"});
  REQUIRE(node.wait_listening(20'000));
  LoadDriver load(node.port(), LoadOptions{16, 8, "burst", 0});
  INFO(node.stderr_text());
  REQUIRE(load.wait_acked(2'000, 60'000));
  load.stop();
  CHECK(load.unavailable() == 0);
  for (const auto& log : load.logs()) CHECK(log.other_statuses.empty());
  // Every acknowledged id is one Redis handed out, and none was issued twice.
  const IdBodies acked = load.acked_ids();
  std::set<uint64_t> ids;
  for (const auto& [id, body] : acked) ids.insert(id);
  CHECK(ids.size() == acked.size());
  CHECK(*ids.rbegin() <= redis.counter());
  REQUIRE(node.stop().code == 0);
}
