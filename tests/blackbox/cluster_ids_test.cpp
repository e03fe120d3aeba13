// Issue 9, section 3: ids across a cluster. Three nodes (--id-reserve 256, --threads 1) take id
// ranges from a real Redis and sit behind a real HAProxy; 20,000 posts through the front from 16
// keep-alive connections. Every 201's id is unique across the nodes and in the merged export
// exactly once with its body; after a graceful stop the holes are within
// nodes x (id-reserve + threads x id-block); after a restart, three times as many posts as there
// were holes (round robin: each node serves at least its own) leave no id below the old highest
// missing.
#include <cstdio>

#include <catch2/catch.hpp>

#include "cluster_dense_ids.h"

using namespace blackbox::cluster;

TEST_CASE("cluster: ids from Redis are unique and dense across three nodes behind HAProxy", "[cluster]") {
  require_cluster_parts();
  const DenseIds r = run_dense_ids(IdStore::redis, "ids", [](Cluster&) { return uint64_t{0}; });
  std::printf("cluster ids: %llu posts, highest id %llu, %llu holes after a graceful stop (bound %llu); "
              "after a restart and %llu more posts, %llu of them still missing\n",
              static_cast<unsigned long long>(DenseIds::kPosts), static_cast<unsigned long long>(r.first.max_id),
              static_cast<unsigned long long>(r.first.hole_ids), static_cast<unsigned long long>(DenseIds::kHoleBound),
              static_cast<unsigned long long>(r.refill_posts), static_cast<unsigned long long>(r.missing));
}
