// Issue 9, section 3: Redis in trouble under load through HAProxy, three nodes (--id-reserve 256).
// Redis stopped (SIGSTOP: its connections hang): the nodes serve from their reserves, then
// answer 503 with Retry-After and /healthz says why, and HAProxy, with no node up, answers 503
// with Retry-After itself; Redis back: service resumes, no node restarted. Redis killed with -9 and restarted from its append-only file: no id is issued
// twice. Redis restarted with its counter reset: every node, holding higher ranges, refuses the
// overlapping reply (one log line naming the fix) and stays on 503 until the counter is set to
// what `busyring-log stats` prints; then it serves again, still without a restart.
#include <sys/stat.h>

#include <cstdio>
#include <sstream>

#include <catch2/catch.hpp>

#include "cluster_checks.h"

using namespace blackbox;
using namespace blackbox::cluster;

namespace {

constexpr int kNodes = 3;
constexpr int kReserve = 256;
constexpr int kConnections = 8;
// The most ids a node holds at any moment: its reserve and its shard's block.
constexpr uint64_t kIdBlock = 32;  // the server's default --id-block
constexpr uint64_t kHeldPerNode = kReserve + 1 * kIdBlock;

// Ids Redis's counter went past that no node's id-ranges records: a reply that never arrived
// (a timeout, Redis killed between its fsync and its answer) leaves its range to no one.
uint64_t ids_held_by_no_node(Cluster& cluster) {
  uint64_t held = 0;
  for (int k = 1; k <= cluster.nodes(); ++k)
    for (const auto& [first, end] : id_ranges(cluster.node_dir(k))) held += end - first;
  const uint64_t counter = cluster.redis().counter();
  return counter > held ? counter - held : 0;
}

size_t count_lines(const std::string& text, std::string_view needle) {
  size_t n = 0;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);)
    if (line.find(needle) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("cluster: Redis stopped, then killed -9 and restarted from its AOF, under load", "[cluster]") {
  require_cluster_parts();
  Cluster cluster(ClusterOptions{kNodes, kReserve, 1, "100ms"});
  const std::vector<pid_t> pids = node_pids(cluster);
  FrontLoad load(cluster.front_port(), FrontLoadOptions{kConnections, "outage", 0, 20});
  BR_REQUIRE_LOGGED(cluster, load.wait_acked(1'500, 60'000));

  // Stopped: connections to Redis hang. The nodes use up what they hold, then refuse.
  cluster.redis().pause();
  const int64_t pause_ms = now_ms();
  const uint64_t acked_at_pause = load.acked();
  BR_REQUIRE_LOGGED(cluster, wait_all_healthz(cluster, 503, 60'000));
  const int64_t dry_ms = now_ms();
  BR_REQUIRE_LOGGED(cluster, load.wait_unavailable(20, 30'000));
  IdBodies direct;
  for (int k = 1; k <= kNodes; ++k) check_refuses_for_want_of_ids(cluster, k, direct, kIdBlock);
  // HAProxy takes every node out and answers for them, the way a node does.
  check_front_refuses_when_all_down(cluster, "front-while-down");
  // Everything acknowledged since came from ids held at the pause (and requests in flight).
  const uint64_t acked_while_paused = load.acked() - acked_at_pause;
  CHECK(acked_while_paused <= kNodes * kHeldPerNode + kConnections);

  // Back: the same processes serve again.
  cluster.redis().resume();
  const int64_t resumed_ms = now_ms();
  BR_REQUIRE_LOGGED(cluster, wait_all_healthz(cluster, 200, 30'000));
  const int64_t healthy_ms = now_ms();
  BR_REQUIRE_LOGGED(cluster, cluster.wait_all_up(30'000));
  BR_REQUIRE_LOGGED(cluster, load.wait_acked(load.acked() + 1'500, 60'000));
  const uint64_t lost_to_pause = ids_held_by_no_node(cluster);

  // A crash of Redis: it comes back from its AOF (fsync always), so no range is handed out twice.
  const uint64_t counter_before = cluster.redis().counter();
  const ExitStatus crashed = cluster.redis().stop(SIGKILL);
  CHECK((!crashed.exited && crashed.signal == SIGKILL));
  cluster.redis().restart();
  CHECK(cluster.redis().counter() >= counter_before);
  BR_REQUIRE_LOGGED(cluster, load.wait_acked(load.acked() + 3'000, 60'000));
  CHECK(node_pids(cluster) == pids);
  const auto [acked, stats] = stop_and_check_records(cluster, load, direct);
  std::printf("cluster Redis outage: %llu acknowledged while Redis was stopped (bound %llu), then %llu x 503 "
              "id_source_unavailable and %llu x 503 no_node_available; every node refusing %lld ms after the "
              "pause, every node healthy %lld ms after the resume; ids Redis counted that no node holds: %llu after the pause, %llu at the end; "
              "holes at the end %llu\n",
              static_cast<unsigned long long>(acked_while_paused),
              static_cast<unsigned long long>(kNodes * kHeldPerNode + kConnections),
              static_cast<unsigned long long>(total_503(load, "id_source_unavailable")),
              static_cast<unsigned long long>(total_503(load, "no_node_available")),
              static_cast<long long>(dry_ms - pause_ms), static_cast<long long>(healthy_ms - resumed_ms),
              static_cast<unsigned long long>(lost_to_pause), static_cast<unsigned long long>(ids_held_by_no_node(cluster)),
              static_cast<unsigned long long>(stats.hole_ids));
}

TEST_CASE("cluster: a Redis whose counter was reset is refused until the counter is set", "[cluster]") {
  require_cluster_parts();
  Cluster cluster(ClusterOptions{kNodes, kReserve, 1, "100ms"});
  const std::vector<pid_t> pids = node_pids(cluster);
  FrontLoad load(cluster.front_port(), FrontLoadOptions{kConnections, "reset", 0, 20});
  BR_REQUIRE_LOGGED(cluster, load.wait_acked(1'500, 60'000));
  const uint64_t counter_before = cluster.redis().counter();
  REQUIRE(counter_before > kNodes * kHeldPerNode);

  // Redis loses everything (a fresh dir): its counter starts again from 0.
  std::vector<size_t> log_at_reset;
  for (int k = 1; k <= kNodes; ++k) log_at_reset.push_back(cluster.node(k).stderr_text().size());
  (void)cluster.redis().stop(SIGKILL);
  const std::string fresh = cluster.node_dir(1) + "-fresh-redis";
  REQUIRE(mkdir(fresh.c_str(), 0755) == 0);
  cluster.redis().restart(fresh);
  // The nodes use up their reserves; their next range lies below ids they held: refused, and
  // each says so in one line that names the fix.
  const auto since_reset = [&](int k) {
    return cluster.node(k).stderr_text().substr(log_at_reset[static_cast<size_t>(k - 1)]);
  };
  const auto fix_lines = [&](int k) { return count_lines(since_reset(k), "busyring-log stats"); };
  BR_REQUIRE_LOGGED(cluster, wait_until(
      [&] {
        for (int k = 1; k <= kNodes; ++k)
          if (fix_lines(k) == 0) return false;
        return true;
      },
      60'000));
  IdBodies direct;
  for (int k = 1; k <= kNodes; ++k) check_refuses_for_want_of_ids(cluster, k, direct, kIdBlock);
  // Still refused a while later (polling GET, not giving up), and said once per node.
  BR_REQUIRE_LOGGED(cluster, load.wait_unavailable(load.unavailable() + 50, 30'000));
  for (int k = 1; k <= kNodes; ++k) {
    INFO("node " << k << " since the reset:\n" << tail(since_reset(k)));
    CHECK(fix_lines(k) == 1);
    CHECK(count_lines(since_reset(k), kKey) == 1);
    CHECK(healthz(cluster.node_port(k)) == 503);
  }
  CHECK(cluster.redis().counter() < counter_before);

  // The fix: busyring-log stats over every node's dir says what the counter must be at least
  // (read while the nodes run: their logs and id-ranges files are readable at any time).
  const Stats live = log_stats(cluster.node_dirs());
  INFO(live.json);
  const uint64_t must_be = live.id_counter_min;
  CHECK(must_be >= counter_before);
  REQUIRE(cluster.redis().command({"SET", kKey, std::to_string(must_be)}).has_value());
  BR_REQUIRE_LOGGED(cluster, wait_all_healthz(cluster, 200, 30'000));
  BR_REQUIRE_LOGGED(cluster, cluster.wait_all_up(30'000));
  BR_REQUIRE_LOGGED(cluster, load.wait_acked(load.acked() + 2'000, 60'000));
  CHECK(node_pids(cluster) == pids);
  const auto [acked, stats] = stop_and_check_records(cluster, load, direct);
  std::printf("cluster Redis reset: counter %llu before, every node refused the lower range (one log line each); "
              "%zu direct posts were still acknowledged after the refusal (ids the shards had in hand); "
              "counter set to %llu from busyring-log stats, service back without a restart; %zu acknowledged\n",
              static_cast<unsigned long long>(counter_before), direct.size(), static_cast<unsigned long long>(must_be),
              acked.size());
}
