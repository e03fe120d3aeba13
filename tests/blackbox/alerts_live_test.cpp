// contrib/prometheus/alerts.yml loaded into a real Prometheus that scrapes a real cluster (two
// busyring nodes with ids from Redis, HAProxy in front with its own Prometheus exporter): every
// rule evaluates without error against what the exporters really expose, and the alerts whose
// conditions the test creates become active on the series it expects: a node stopped
// (BusyringNodeDown, server="node2"), Redis paused (BusyringIdSourceDown), and the 503s that
// follow once the node's id reserve is spent (Busyring503sRising). `for:` durations make them
// pending; promtool's unit tests (tests/scripts/alerts_test.sh) cover firing and staying quiet.
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "cluster_checks.h"
#include "prometheus_server.h"

using namespace blackbox;

namespace {

std::string absolute(const std::string& path) {
  char buf[PATH_MAX];
  REQUIRE(realpath(path.c_str(), buf) != nullptr);
  return buf;
}

// Waits until Prometheus holds an alert named `name` whose labels include `want` (pending or
// firing); false at the deadline. *raw: the last answer.
bool wait_alert(uint16_t port, const std::string& name, const std::vector<std::pair<std::string, std::string>>& want,
                int timeout_ms, std::string* raw) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (now_ms() < deadline) {
    for (const ActiveAlert& a : prometheus_alerts(port, raw)) {
      if (a.name != name) continue;
      bool all = true;
      for (const auto& [k, v] : want) all = all && a.label(k) == v;
      if (all) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

}  // namespace

TEST_CASE("alerts.yml evaluates against real exporters and its alerts follow what happens", "[cluster][ops][alerts]") {
  INFO(cluster::unavailable());
  REQUIRE(cluster::unavailable().empty());
  const uint16_t haproxy_metrics = free_loopback_port();
  ScopedEnv metrics_env("BUSYRING_HAPROXY_METRICS", "127.0.0.1:" + std::to_string(haproxy_metrics));
  cluster::ClusterOptions options;
  options.nodes = 2;
  options.id_reserve = 64;
  cluster::Cluster c(options);
  TempDir prom_dir;
  PrometheusServer prometheus(prom_dir,
                              {ScrapeJob{"busyring", {c.node_port(1), c.node_port(2)}},
                               ScrapeJob{"haproxy", {haproxy_metrics}}},
                              {absolute("contrib/prometheus/alerts.yml")});
  std::string raw;
  // Every target scraped, every rule evaluated once without an error.
  const int64_t deadline = now_ms() + 20'000;
  bool ready = false;
  while (!ready && now_ms() < deadline) {
    const auto up = prometheus_query(prometheus.port(), "sum(up)", &raw);
    const auto health = prometheus_rule_health(prometheus.port(), &raw);
    ready = !up.empty() && up[0].value == 3 && health.size() == 9;
    for (const auto& [rule, h] : health) ready = ready && h == "ok";
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  INFO("last answer: " << raw << "\n" << c.logs());
  REQUIRE(ready);
  CHECK(prometheus_alerts(prometheus.port(), &raw).empty());

  // A node stops: HAProxy's checks take it out, its exporter says DOWN.
  CHECK(c.stop_node(2).code == 0);
  BR_REQUIRE_LOGGED(c, c.wait_server_status(2, "DOWN", 10'000));
  CHECK(wait_alert(prometheus.port(), "BusyringNodeDown", {{"server", "node2"}, {"proxy", "busyring_nodes"}}, 15'000,
                   &raw));
  INFO("alerts: " << raw);

  // Redis stops answering: under load node 1 spends its small reserve, says the id source is
  // down, then answers 503.
  c.redis().pause();
  const std::string node1 = "127.0.0.1:" + std::to_string(c.node_port(1));
  {
    LoadDriver load(c.front_port(), LoadOptions{2, 1, "alerts"});
    const int64_t until = now_ms() + 15'000;
    while (load.unavailable() < 50 && now_ms() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(load.unavailable() >= 50);
    CHECK(wait_alert(prometheus.port(), "BusyringIdSourceDown", {{"instance", node1}}, 15'000, &raw));
    CHECK(wait_alert(prometheus.port(), "Busyring503sRising", {{"instance", node1}}, 15'000, &raw));
    load.stop();
  }
  c.redis().resume();
  // Nothing went wrong with the logs, and no id was refused: those alerts stay quiet.
  for (const ActiveAlert& a : prometheus_alerts(prometheus.port(), &raw)) {
    INFO("alert " << a.name << " " << a.state);
    CHECK(a.name != "BusyringStorageUnhealthy");
    CHECK(a.name != "BusyringIdSourceRefused");
  }
  for (const auto& [rule, h] : prometheus_rule_health(prometheus.port(), &raw)) {
    INFO(rule);
    CHECK(h == "ok");
  }
  CHECK(prometheus.process().stop(SIGTERM, 15'000).code == 0);
}
