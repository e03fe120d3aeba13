// Issue 21: a node killed -9 in the middle of a reservation. Node 1 talks to etcd through a proxy
// that, once told to, throws away etcd's replies: its next reservation transaction runs in etcd
// (the counter moves, its record names the new range) but the node never hears back, gives up
// after its timeout and keeps asking; then it is killed -9, with the range in no id-ranges file.
// Node 2 reserves meanwhile, above that range. Restarted, node 1's first reservation finds its
// record ahead and takes that range (adopts it) and issues its ids: the range lands in node 1's
// id-ranges, never in node 2's, etcd's counter equals the ids the nodes hold, and no id is
// acknowledged twice. Each node is posted to directly (no HAProxy in this one).
// Why a proxy and not a SIGSTOPped member: stopping members cannot make etcd commit a
// transaction and lose only its reply, deterministically: a stopped member never forwards the
// call, and a leader cut off from its quorum may have its uncommitted entry dropped by the next
// election. Dropping replies on the way back is exactly "the store ran it, the node gave up".
#include <cinttypes>
#include <cstdio>

#include <catch2/catch.hpp>

#include "cluster_checks.h"

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
  const std::string record_key = node_record_key(cluster.node_dir(1));
  // Load on node 1 alone (node 2 reserves nothing, so node 1's transaction wins its compare).
  auto load1 = std::make_unique<FrontLoad>(cluster.node_port(1), FrontLoadOptions{kConnections, "node1", 0, 20});
  const size_t ranges_at_start = id_ranges(cluster.node_dir(1)).size();
  BR_REQUIRE_LOGGED(cluster, wait_until([&] { return id_ranges(cluster.node_dir(1)).size() > ranges_at_start; },
                                        60'000));

  // From node 1's next reservation transaction (a write: "request_put") on, etcd's replies to it
  // are lost: the transaction runs, unanswered, and so does everything after it.
  const size_t stderr_at_drop = cluster.node(1).stderr_text().size();
  proxy.drop_replies_from("request_put");
  std::string record;
  const bool moved = wait_until_paced(
      [&] {
        record = etcd.get(record_key).value_or("");
        return !record.empty() && record != last_range_text(cluster.node_dir(1));
      },
      60'000);
  INFO("node 1's record in etcd '" << record << "', its last range '" << last_range_text(cluster.node_dir(1))
                                   << "', " << proxy.dropped_bytes() << " bytes dropped");
  BR_REQUIRE_LOGGED(cluster, moved);
  uint64_t first = 0, end = 0;
  REQUIRE(std::sscanf(record.c_str(), "%" SCNu64 " %" SCNu64, &first, &end) == 2);
  INFO("etcd reserved [" << first << ", " << end << ") for node 1, which never heard back");
  // Node 1 gave up on that call (its timeout) and goes on asking, unanswered; killed meanwhile.
  BR_REQUIRE_LOGGED(cluster, cluster.node(1).wait_stderr("timed out", 30'000));
  CHECK(cluster.node(1).stderr_text().find("timed out", stderr_at_drop) != std::string::npos);
  const ExitStatus killed = cluster.stop_node(1, SIGKILL);
  REQUIRE((!killed.exited && killed.signal == SIGKILL));
  load1->stop();
  for (const auto& [f, e] : id_ranges(cluster.node_dir(1))) CHECK(e <= first);
  proxy.drop_replies(false);

  // Node 2 reserves meanwhile: above the range etcd gave node 1.
  FrontLoad load2(cluster.node_port(2), FrontLoadOptions{kConnections, "node2", 0, 20});
  BR_REQUIRE_LOGGED(cluster, wait_until([&] { return id_ranges(cluster.node_dir(2)).size() >= 3; }, 60'000));
  for (const auto& [f, e] : id_ranges(cluster.node_dir(2))) CHECK((e <= first || f >= end));

  // Node 1 restarted: its first reservation finds its record ahead, and takes that range.
  cluster.start_node(1);
  FrontLoad again(cluster.node_port(1), FrontLoadOptions{kConnections, "node1-again", 0, 20});
  BR_REQUIRE_LOGGED(cluster, cluster.node(1).wait_stderr("reserved for this node by a call it had given up on", 60'000));
  BR_REQUIRE_LOGGED(cluster, again.wait_acked(500, 60'000));
  again.stop();
  load2.stop();
  const auto ranges = id_ranges(cluster.node_dir(1));
  uint64_t adopted = 0;
  for (const auto& [f, e] : ranges) adopted += f == first && e == end ? 1 : 0;
  CHECK(adopted == 1);

  // Errors only for requests node 1 had in flight when it died (one per connection at most).
  uint64_t errors = 0;
  IdBodies acked;
  for (const FrontLoad* load : {load1.get(), &load2, &again}) {
    for (const auto& log : load->logs()) {
      CHECK(log.errors.size() <= 1);
      errors += log.errors.size();
    }
    for (const auto& [id, body] : load->acked_ids()) {
      INFO("id " << id << " was acknowledged twice");
      REQUIRE(acked.emplace(id, body).second);
    }
  }
  cluster.stop_nodes();
  const Stats stats = check_records(cluster, acked);  // ranges disjoint across nodes
  INFO(stats.json);
  CHECK(check_etcd_accounting(cluster) == 0);
  uint64_t issued_from_adopted = 0;
  for (const auto& r : read_records(cluster.node_dir(1))) issued_from_adopted += r.id >= first && r.id < end ? 1 : 0;
  CHECK(issued_from_adopted > 0);
  std::printf("cluster etcd adoption: etcd ran node 1's reservation of ids %" PRIu64 "..%" PRIu64
              " while its reply was lost (%" PRIu64 " bytes dropped); node 1 killed -9, restarted, adopted it and "
              "issued %" PRIu64 " of its ids; %zu acknowledged, no id twice, %" PRIu64 " client errors from the kill\n",
              first, end - 1, proxy.dropped_bytes(), issued_from_adopted, acked.size(), errors);
}
