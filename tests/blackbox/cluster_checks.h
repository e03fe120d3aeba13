// What the cluster tests check once the load is over or while a store is in trouble: the nodes'
// logs read back through busyring-log (export, stats) against every acknowledged id, each
// node's id-ranges file, /healthz and /metrics of a node, and the answers a FrontLoad saw.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cluster.h"
#include "front_load.h"

namespace blackbox::cluster {

struct Exported {
  uint64_t id = 0;
  std::string body;
};
// `busyring-log export DIRS... --format jsonl`, parsed; REQUIREs exit 0.
std::vector<Exported> export_records(const std::vector<std::string>& dirs);

struct Stats {
  uint64_t records = 0;
  uint64_t max_id = 0;
  uint64_t hole_ids = 0;
  uint64_t duplicate_ids = 0;
  uint64_t id_counter_min = 0;  // the least value for Redis's counter (every node's ranges and ids)
  std::string json;
};
// `busyring-log stats DIRS... --json`, parsed (it exits 1 on duplicates: that is reported, not
// REQUIREd, so that the test's own check names them).
Stats log_stats(const std::vector<std::string>& dirs);

// A node's `<data-dir>/id-ranges`: every [first, end) it reserved, in order.
std::vector<std::pair<uint64_t, uint64_t>> id_ranges(const std::string& node_dir);

// Ids in the node's reserved ranges that none of its records carries.
std::vector<uint64_t> unused_reserved_ids(const std::string& node_dir);

// With every node stopped: every acknowledged id is in the merged export exactly once, with the
// body that was sent; no id is on two records; each node's records lie inside its own ranges,
// and no two nodes' ranges overlap; the store's counter is at least every range's last id.
// Returns `busyring-log stats` over all the nodes' dirs.
Stats check_records(Cluster& cluster, const IdBodies& acked);

// GET /healthz from a node: the status (0 when it did not answer), body in *body.
int healthz(uint16_t port, std::string* body = nullptr);

// ---- checks shared by the tests of an id store in trouble (Redis, etcd) ----

// Every answer of `load` a 201 or a 503 with Retry-After (id_source_unavailable from a node, or
// no_node_available from HAProxy when none is up); no connection error.
void check_answers(const FrontLoad& load, const Cluster& cluster);
// Waits until every node's /healthz answers `status`.
bool wait_all_healthz(const Cluster& cluster, int status, int timeout_ms);
// Posts straight to node k until it refuses for want of ids: 503, Retry-After: 1,
// id_source_unavailable, and /healthz 503 with a reason (returned). Its shard may first spend
// the ids of the block it has in hand (at most `id_block`; /healthz looks only at the node's
// reserve): those 201s go into `direct`.
std::string check_refuses_for_want_of_ids(Cluster& cluster, int k, IdBodies& direct, uint64_t id_block);
// Every id acknowledged through the front and straight to the nodes (REQUIREs no id twice).
IdBodies all_acked(const FrontLoad& load, const IdBodies& direct);
std::vector<pid_t> node_pids(Cluster& cluster);
// 503s of `load` with the error code `code`.
uint64_t total_503(const FrontLoad& load, const std::string& code);
// busyring_id_source_calls_total of a node's /metrics: the reservations it asked of the store
// (0 if unreadable).
uint64_t id_source_calls(uint16_t port);

// Waits until HAProxy sees every node DOWN, then REQUIREs that the front answers a post (its
// body tagged `tag`) for them as a node would: 503 no_node_available with Retry-After: 1.
void check_front_refuses_when_all_down(Cluster& cluster, const std::string& tag);

struct FinalCheck {
  IdBodies acked;  // through the front and straight to the nodes
  Stats stats;
};
// The end of a store-in-trouble test: stops the load, checks its answers (check_answers), stops
// every node and checks their records against every id acknowledged (check_records), one each.
FinalCheck stop_and_check_records(Cluster& cluster, FrontLoad& load, const IdBodies& direct = {});

}  // namespace blackbox::cluster
