// The scenario of the dense-ids cluster tests, whatever store holds the counter (Redis: issue 9
// §3; etcd: issue 21): three nodes (--id-reserve 256, --threads 1) behind HAProxy; 20,000 posts
// through the front from 16 keep-alive connections, every answer a 201 with an id no other
// answer had; round robin gave each node its third; the merged export holds each id once with
// its body; after a graceful stop the holes are within nodes x (id-reserve + threads x
// id-block); after a restart, three times as many posts as there were holes (round robin: each
// node serves at least its own) leave no id below the old highest missing.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "cluster_checks.h"

namespace blackbox::cluster {

struct DenseIds {
  static constexpr int kNodes = 3;
  static constexpr int kReserve = 256;
  static constexpr int kThreads = 1;
  static constexpr uint64_t kIdBlock = 32;  // the server's default --id-block
  static constexpr uint64_t kHoleBound = kNodes * (kReserve + kThreads * kIdBlock);
  static constexpr uint64_t kPosts = 20'000;

  Stats first;               // after the graceful stop
  Stats second;              // after the restart and the refill
  uint64_t refill_posts = 0;
  uint64_t missing = 0;      // ids up to first.max_id that were never issued
  uint64_t after_first_stop = 0;   // what after_stop said after each stop
  uint64_t after_second_stop = 0;
  uint64_t counter = 0;      // the store's counter at the end
};

// Runs the scenario on a new cluster of `store` (tag names its posts), CHECKing each step;
// after_stop runs with every node stopped and its records checked (the etcd test checks the
// store's accounting there).
DenseIds run_dense_ids(IdStore store, const std::string& tag, const std::function<uint64_t(Cluster&)>& after_stop);

}  // namespace blackbox::cluster
