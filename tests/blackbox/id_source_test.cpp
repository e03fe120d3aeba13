// --id-source on one node, without a Redis server: a Redis that does not answer never makes
// the node invent an id (503 id_source_unavailable, /healthz 503), yet the unused ids of the
// ranges it reserved before (DATA_DIR/id-ranges) are issued; and local and cluster data dirs
// refuse to be mixed. The cluster cases with a real Redis and HAProxy are cluster_*_test.cpp.
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace blackbox;

namespace {

// A Redis URL nothing listens on (port 1 on loopback: connection refused at once).
const std::string kNoRedis = "redis://127.0.0.1:1/busyring:ids";

std::vector<std::string> node_args(const std::string& dir) {
  return {"--port", "0", "--data-dir", dir, "--threads", "1", "--segment-size", "1M", "--id-source", kNoRedis,
          "--id-reserve", "64"};
}

}  // namespace

TEST_CASE("Redis unreachable: the node issues only the ids it holds, then 503 with Retry-After", "[blackbox][ids]") {
  TempDir dir;
  // Ranges this node reserved in an earlier run and did not use.
  { std::ofstream(dir.sub("id-ranges")) << "5 8\n20 22\n"; }
  ServerProcess p(node_args(dir.path()));
  REQUIRE(p.wait_listening());
  Client c(p.port());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    const auto r = roundtrip(c, post_request(usage_body("held-" + std::to_string(i))));
    REQUIRE(r.status == 201);
    ids.push_back(id_of(r));
  }
  CHECK(std::set<uint64_t>(ids.begin(), ids.end()) == std::set<uint64_t>{5, 6, 7, 20, 21});
  const auto refused = roundtrip(c, post_request(usage_body("none-left")));
  check_error(refused, 503, "id_source_unavailable");
  CHECK(refused.header("Retry-After") == "1");
  const auto health = roundtrip(c, get_request("/healthz"));
  CHECK(health.status == 503);
  CHECK(health.body.find("Redis") != std::string::npos);
  const auto metrics = roundtrip(c, get_request("/metrics"));
  CHECK(metrics.body.find("busyring_id_source_up 0\n") != std::string::npos);
  CHECK(metrics.body.find("busyring_rejections_total{reason=\"id_source_unavailable\"} 1\n") != std::string::npos);
  CHECK(p.stderr_text().find("127.0.0.1:1") != std::string::npos);
  REQUIRE(p.stop().code == 0);
  // Only acknowledged records are on disk, under the held ids.
  std::set<uint64_t> stored;
  for (const auto& rec : read_records(dir.path())) stored.insert(rec.id);
  CHECK(stored == std::set<uint64_t>(ids.begin(), ids.end()));
}

TEST_CASE("a data dir written with the local counter refuses to be a cluster node", "[blackbox][ids]") {
  TempDir dir;
  {
    ServerProcess local({"--port", "0", "--data-dir", dir.path(), "--threads", "1", "--segment-size", "1M"});
    REQUIRE(local.wait_listening());
    Client c(local.port());
    REQUIRE(roundtrip(c, post_request(usage_body("local"))).status == 201);
    REQUIRE(local.stop().code == 0);
  }
  // Redis or etcd alike (neither is reached: the data dir is refused first).
  for (const std::string& source : {kNoRedis, std::string("etcd://127.0.0.1:1/busyring/ids")}) {
    INFO(source);
    std::vector<std::string> args = node_args(dir.path());
    args[9] = source;  // the --id-source value
    ServerProcess node(args);
    const ExitStatus st = node.wait_exit(10'000);
    INFO(node.stderr_text());
    CHECK(st.exited);
    CHECK(st.code == 1);
    CHECK(node.stderr_text().find("busyring: " + dir.path() +
                                  " holds records whose ids were not reserved from a shared counter") !=
          std::string::npos);
  }
}

TEST_CASE("a cluster node's data dir refuses the local counter", "[blackbox][ids]") {
  TempDir dir;
  { std::ofstream(dir.sub("id-ranges")) << "1 129\n"; }
  ServerProcess local({"--port", "0", "--data-dir", dir.path(), "--threads", "1", "--segment-size", "1M"});
  const ExitStatus st = local.wait_exit(10'000);
  INFO(local.stderr_text());
  CHECK(st.exited);
  CHECK(st.code == 1);
  CHECK(local.stderr_text().find("id-ranges shows this data dir took its ids from a shared counter") !=
        std::string::npos);
  CHECK(local.stderr_text().find("--id-source redis://... or etcd://...") != std::string::npos);
}
