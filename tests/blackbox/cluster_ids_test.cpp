// Issue 9, section 3: ids across a cluster. Three nodes (--id-reserve 256, --threads 1) take id
// ranges from a real Redis and sit behind a real HAProxy; 20,000 posts through the front from 16
// keep-alive connections. Every 201's id is unique across the nodes and in the merged export
// exactly once with its body; after a graceful stop the holes are within
// nodes x (id-reserve + threads x id-block); after a restart, three times as many posts as there
// were holes (round robin: each node serves at least its own) leave no id below the old highest
// missing.
#include <cstdio>

#include <catch2/catch.hpp>

#include "cluster_checks.h"

using namespace blackbox;
using namespace blackbox::cluster;

namespace {

constexpr int kNodes = 3;
constexpr int kReserve = 256;
constexpr int kThreads = 1;
constexpr uint64_t kIdBlock = 32;  // the server's default --id-block
constexpr uint64_t kHoleBound = kNodes * (kReserve + kThreads * kIdBlock);
constexpr uint64_t kPosts = 20'000;
constexpr uint64_t refill_posts(uint64_t holes) { return 3 * holes + 3 * 16; }

void check_every_answer_201(const FrontLoad& load, const Cluster& cluster) {
  uint64_t unavailable = 0, errors = 0;
  for (const auto& log : load.logs()) {
    unavailable += log.unavailable;
    errors += log.errors.size();
    for (const auto& e : log.errors) UNSCOPED_INFO("status " << e.status << ": " << e.detail);
  }
  INFO((unavailable + errors > 0 ? cluster.logs() : ""));
  CHECK(unavailable == 0);
  CHECK(errors == 0);
}

}  // namespace

TEST_CASE("cluster: ids from Redis are unique and dense across three nodes behind HAProxy", "[cluster]") {
  require_cluster_parts();
  Cluster cluster(ClusterOptions{kNodes, kReserve, kThreads, "100ms"});

  FrontLoad load(cluster.front_port(), FrontLoadOptions{16, "ids", kPosts, 20});
  const bool done = load.wait_done(180'000);
  BR_REQUIRE_LOGGED(cluster, done);
  load.stop();
  check_every_answer_201(load, cluster);
  const IdBodies acked = load.acked_ids();  // REQUIREs unique ids
  REQUIRE(acked.size() == kPosts);
  // Round robin: each node took its third (give or take what was in flight).
  for (int k = 1; k <= kNodes; ++k) {
    INFO("node " << k << " was sent " << cluster.server(k).selected << " requests");
    CHECK(cluster.server(k).selected >= kPosts / kNodes - 100);
  }

  cluster.stop_nodes();
  const Stats first = check_records(cluster, acked);
  INFO(first.json);
  CHECK(first.records == kPosts);
  CHECK(first.hole_ids <= kHoleBound);
  CHECK(first.max_id == first.records + first.hole_ids);

  // Restart: each node reissues the ids it holds and did not use, first.
  for (int k = 1; k <= kNodes; ++k) cluster.start_node(k);
  BR_REQUIRE_LOGGED(cluster, cluster.wait_all_up(30'000));
  IdBodies all = acked;
  if (first.hole_ids > 0) {
    // Round robin gives each node a third, give or take the 16 requests in flight: a few more
    // posts than 3 x holes, so that a node holding nearly all of them still gets its own.
    FrontLoad refill(cluster.front_port(), FrontLoadOptions{16, "refill", refill_posts(first.hole_ids), 20});
    BR_REQUIRE_LOGGED(cluster, refill.wait_done(120'000));
    refill.stop();
    check_every_answer_201(refill, cluster);
    for (const auto& [id, body] : refill.acked_ids()) {
      INFO("id " << id << " was acknowledged before the restart and again after it");
      REQUIRE(all.emplace(id, body).second);
    }
  }
  cluster.stop_nodes();
  const Stats second = check_records(cluster, all);
  INFO(second.json);
  uint64_t missing = 0;
  for (uint64_t id = 1; id <= first.max_id; ++id) {
    if (all.count(id) == 0 && ++missing <= 10) UNSCOPED_INFO("id " << id << " is still missing");
  }
  CHECK(missing == 0);
  CHECK(second.hole_ids <= kHoleBound);
  std::printf("cluster ids: %llu posts, highest id %llu, %llu holes after a graceful stop (bound %llu); "
              "after a restart and %llu more posts, %llu of them still missing\n",
              static_cast<unsigned long long>(kPosts), static_cast<unsigned long long>(first.max_id),
              static_cast<unsigned long long>(first.hole_ids), static_cast<unsigned long long>(kHoleBound),
              static_cast<unsigned long long>(refill_posts(first.hole_ids)), static_cast<unsigned long long>(missing));
}
