// Issue 21: ids from etcd across a cluster. Three nodes (--id-reserve 256, --threads 1) reserve id
// ranges from a real three-member etcd cluster (`--id-source etcd://m1,m2,m3/busyring/ids`) and
// sit behind a real HAProxy; 20,000 posts through the front from 16 keep-alive connections.
// Every 201's id is unique across the nodes and in the merged export (busyring-log export over
// the nodes' dirs) exactly once with its body; after a graceful stop the holes are within
// nodes x (id-reserve + threads x id-block), and etcd's counter equals the ids the nodes' id-ranges
// hold plus at most one range per node that its record names and it has yet to adopt (a call
// cut short by the stop): no range lost, none held twice; after a restart the holes are issued
// again.
#include <cstdio>

#include <catch2/catch.hpp>

#include "cluster_dense_ids.h"

using namespace blackbox::cluster;

TEST_CASE("cluster: ids from a three-member etcd are unique and dense across three nodes behind HAProxy",
          "[cluster][etcd]") {
  // A node stopped mid-call may leave one reservation to adopt at its next start.
  const DenseIds r = run_dense_ids(IdStore::etcd, "etcd-ids", check_etcd_accounting);
  std::printf("cluster etcd ids: %llu posts, highest id %llu, %llu holes after a graceful stop (bound %llu), etcd "
              "counter %llu; after a restart and %llu more posts, %llu of them still missing; "
              "ids reserved in etcd and not yet adopted after each stop: %llu, %llu\n",
              static_cast<unsigned long long>(DenseIds::kPosts), static_cast<unsigned long long>(r.first.max_id),
              static_cast<unsigned long long>(r.first.hole_ids), static_cast<unsigned long long>(DenseIds::kHoleBound),
              static_cast<unsigned long long>(r.counter), static_cast<unsigned long long>(r.refill_posts),
              static_cast<unsigned long long>(r.missing), static_cast<unsigned long long>(r.after_first_stop), static_cast<unsigned long long>(r.after_second_stop));
}
