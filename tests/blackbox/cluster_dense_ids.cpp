// The dense-ids scenario; see cluster_dense_ids.h.
#include "cluster_dense_ids.h"

#include <catch2/catch.hpp>

namespace blackbox::cluster {
namespace {

// Round robin gives each node a third, give or take the 16 requests in flight: a few more posts
// than 3 x holes, so that a node holding nearly all of them still gets its own.
constexpr uint64_t refill_posts_for(uint64_t holes) { return 3 * holes + 3 * 16; }

// Every answer of `load` a 201; the ids, REQUIREd unique.
IdBodies every_answer_201(const FrontLoad& load, const Cluster& cluster) {
  uint64_t unavailable = 0, errors = 0;
  for (const auto& log : load.logs()) {
    unavailable += log.unavailable;
    errors += log.errors.size();
    for (const auto& e : log.errors) UNSCOPED_INFO("status " << e.status << ": " << e.detail);
  }
  INFO((unavailable + errors > 0 ? cluster.logs() : ""));
  CHECK(unavailable == 0);
  CHECK(errors == 0);
  return load.acked_ids();
}

}  // namespace

DenseIds run_dense_ids(IdStore store, const std::string& tag, const std::function<uint64_t(Cluster&)>& after_stop) {
  using D = DenseIds;
  DenseIds out;
  Cluster cluster(ClusterOptions{D::kNodes, D::kReserve, D::kThreads, "100ms", store});

  FrontLoad load(cluster.front_port(), FrontLoadOptions{16, tag, D::kPosts, 20});
  BR_REQUIRE_LOGGED(cluster, load.wait_done(180'000));
  load.stop();
  const IdBodies acked = every_answer_201(load, cluster);
  REQUIRE(acked.size() == D::kPosts);
  for (int k = 1; k <= D::kNodes; ++k) {
    INFO("node " << k << " was sent " << cluster.server(k).selected << " requests");
    CHECK(cluster.server(k).selected >= D::kPosts / D::kNodes - 100);
  }

  cluster.stop_nodes();
  out.first = check_records(cluster, acked);
  INFO(out.first.json);
  CHECK(out.first.records == D::kPosts);
  CHECK(out.first.hole_ids <= D::kHoleBound);
  CHECK(out.first.max_id == out.first.records + out.first.hole_ids);
  out.after_first_stop = after_stop(cluster);

  // Restart: each node issues the ids it holds and did not use, first.
  for (int k = 1; k <= D::kNodes; ++k) cluster.start_node(k);
  BR_REQUIRE_LOGGED(cluster, cluster.wait_all_up(30'000));
  IdBodies all = acked;
  if (out.first.hole_ids > 0) {
    out.refill_posts = refill_posts_for(out.first.hole_ids);
    FrontLoad refill(cluster.front_port(), FrontLoadOptions{16, tag + "-refill", out.refill_posts, 20});
    BR_REQUIRE_LOGGED(cluster, refill.wait_done(120'000));
    refill.stop();
    for (const auto& [id, body] : every_answer_201(refill, cluster)) {
      INFO("id " << id << " was acknowledged before the restart and again after it");
      REQUIRE(all.emplace(id, body).second);
    }
  }
  cluster.stop_nodes();
  out.second = check_records(cluster, all);
  INFO(out.second.json);
  for (uint64_t id = 1; id <= out.first.max_id; ++id) {
    if (all.count(id) == 0 && ++out.missing <= 10) UNSCOPED_INFO("id " << id << " is still missing");
  }
  CHECK(out.missing == 0);
  CHECK(out.second.hole_ids <= D::kHoleBound);
  out.after_second_stop = after_stop(cluster);
  out.counter = cluster.counter();
  return out;
}

}  // namespace blackbox::cluster
