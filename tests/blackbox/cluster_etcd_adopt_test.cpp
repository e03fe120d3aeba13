// Issue 21: a node killed -9 in the middle of a reservation. Node 1 talks to etcd through a proxy
// that, once told to, throws away etcd's replies: its next reservation transaction runs in etcd
// (the counter moves, its record names the new range) but the node never hears back, gives up
// after its timeout and keeps asking; then it is killed -9, with the range in no id-ranges file.
// Restarted, its first reservation finds its record ahead and takes that range (adopts it): the
// range lands in node 1's id-ranges, never in node 2's, etcd's counter equals the ids the
// nodes hold, and no id is acknowledged twice.
// Why a proxy and not a SIGSTOPped member: stopping members cannot make etcd commit a
// transaction and lose only its reply, deterministically: a stopped member never forwards the
// call, and a leader cut off from its quorum may have its uncommitted entry dropped by the next
// election. Dropping replies on the way back is exactly "the store ran it, the node gave up".
#include <cinttypes>
#include <cstdio>

#include <catch2/catch.hpp>

#include "cluster.h"

using namespace blackbox;
using namespace blackbox::cluster;

namespace {

constexpr int kConnections = 8;

std::string last_range_text(const std::string& node_dir) {
  const auto ranges = id_ranges(node_dir);
  return ranges.empty() ? "" : std::to_string(ranges.back().first) + " " + std::to_string(ranges.back().second);
}

}  // namespace

TEST_CASE("cluster: a node killed -9 mid-reservation adopts the range etcd gave it, and no one else gets it",
          "[cluster][etcd]") {
  Cluster cluster(ClusterOptions{2, 256, 1, "100ms", IdStore::etcd});
  EtcdCluster& etcd = cluster.etcd();
  StallProxy proxy(etcd.client_port(1));
  REQUIRE(cluster.stop_node(1, SIGTERM).code == 0);
  cluster.set_node_id_source(1, "etcd://127.0.0.1:" + std::to_string(proxy.port()) + kEtcdPrefix);
  cluster.start_node(1);
  BR_REQUIRE_LOGGED(cluster, cluster.wait_all_up(30'000));
  FrontLoad load(cluster.front_port(), FrontLoadOptions{kConnections, "adopt", 0, 20});
  BR_REQUIRE_LOGGED(cluster, load.wait_acked(1'000, 60'000));
  const std::string record_key = node_record_key(cluster.node_dir(1));

  // etcd's replies to node 1 are lost from now on: its next transaction runs, unanswered.
  proxy.drop_replies(true);
  const size_t stderr_at_drop = cluster.node(1).stderr_text().size();
  std::string record;
  BR_REQUIRE_LOGGED(cluster, wait_until(
      [&] {
        record = etcd.get(record_key).value_or("");
        return !record.empty() && record != last_range_text(cluster.node_dir(1));
      },
      60'000));
  uint64_t first = 0, end = 0;
  REQUIRE(std::sscanf(record.c_str(), "%" SCNu64 " %" SCNu64, &first, &end) == 2);
  INFO("etcd reserved [" << first << ", " << end << ") for node 1, which never heard back");
  // Node 1 gave up on that call (its timeout) and goes on asking, unanswered.
  BR_REQUIRE_LOGGED(cluster, cluster.node(1).wait_stderr("Timeout was reached", 30'000));
  CHECK(cluster.node(1).stderr_text().find("Timeout was reached", stderr_at_drop) != std::string::npos);
  const ExitStatus killed = cluster.stop_node(1, SIGKILL);
  REQUIRE((!killed.exited && killed.signal == SIGKILL));
  for (const auto& [f, e] : id_ranges(cluster.node_dir(1))) CHECK(e <= first);
  proxy.drop_replies(false);

  // Node 2 goes on reserving meanwhile: above the range etcd gave node 1.
  BR_REQUIRE_LOGGED(cluster, cluster.wait_server_status(1, "DOWN", 10'000));
  BR_REQUIRE_LOGGED(cluster, load.wait_acked(load.acked() + 1'000, 60'000));
  cluster.start_node(1);
  BR_REQUIRE_LOGGED(cluster, cluster.node(1).wait_stderr("reserved for this node by a call it had given up on", 60'000));
  const auto ranges = id_ranges(cluster.node_dir(1));
  uint64_t adopted = 0;
  for (const auto& [f, e] : ranges) adopted += f == first && e == end ? 1 : 0;
  CHECK(adopted == 1);
  BR_REQUIRE_LOGGED(cluster, load.wait_acked(load.acked() + 1'000, 60'000));
  load.stop();

  // Errors only for requests node 1 had in flight when it died (one per connection at most).
  uint64_t errors = 0;
  for (const auto& log : load.logs()) {
    CHECK(log.errors.size() <= 1);
    errors += log.errors.size();
  }
  const IdBodies acked = load.acked_ids();  // REQUIREs unique ids
  cluster.stop_nodes();
  const Stats stats = check_records(cluster, acked);  // ranges disjoint across nodes
  INFO(stats.json);
  CHECK(check_etcd_accounting(cluster) == 0);
  uint64_t issued_from_adopted = 0;
  for (const auto& r : read_records(cluster.node_dir(1))) issued_from_adopted += r.id >= first && r.id < end ? 1 : 0;
  std::printf("cluster etcd adoption: etcd ran node 1's reservation of ids %" PRIu64 "..%" PRIu64
              " while its reply was lost (%" PRIu64 " bytes dropped); node 1 killed -9, restarted, adopted it and "
              "issued %" PRIu64 " of its ids; %zu acknowledged, no id twice, %" PRIu64 " client errors from the kill\n",
              first, end - 1, proxy.dropped_bytes(), issued_from_adopted, acked.size(), errors);
}
