// /metrics by convention (issue 19), as a real Prometheus scrapes it: every known (route, code)
// series exists from the first scrape at 0, so the first 503 (a failed log write injected by
// busyring-faulty) shows in increase() and rate(); the standard process_* metrics agree with
// what /proc says about the server process; busyring_build_info carries the version; and each
// shard has its row of series.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"
#include "prometheus_server.h"

using namespace blackbox;

namespace {

// Polls Prometheus (its own scrape clock decides) until `promql` returns at least one series
// for which accept() holds; the last answer either way.
template <typename Accept>
std::vector<Sample> query_until(uint16_t port, const std::string& promql, Accept accept, int timeout_ms,
                                std::string* raw) {
  const int64_t deadline = now_ms() + timeout_ms;
  std::vector<Sample> result;
  while (now_ms() < deadline) {
    result = prometheus_query(port, promql, raw);
    for (const Sample& s : result)
      if (accept(s)) return result;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return result;
}

std::string label(const Sample& s, const std::string& name) {
  for (const auto& [k, v] : s.labels)
    if (k == name) return v;
  return "";
}

// A value from /proc/<pid>/status ("VmRSS:   12345 kB" -> 12345).
uint64_t proc_status_kb(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
  return 0;
}

}  // namespace

TEST_CASE("the first 503 shows in rate(): every known (route, code) series exists from the start",
          "[blackbox][ops][metrics]") {
  TempDir dir;
  const std::string bin = faulty_bin();
  REQUIRE(access(bin.c_str(), X_OK) == 0);
  ScopedEnv use_bin("BUSYRING_BIN", bin);
  ScopedEnv faults("BUSYRING_FAULTS", "eio@3");  // the third log write of the shard fails
  auto server = start_server(dir.sub("data"), {"--threads", "1"});
  TempDir prom_dir;
  PrometheusServer prometheus(prom_dir, server->port());
  const std::string series = "busyring_requests_total{route=\"/api/usages\",code=\"503\"}";
  std::string raw;
  // Scraped at 0 before any 503, twice (so that increase() has a baseline).
  auto zero = query_until(
      prometheus.port(), "count_over_time(" + series + "[1m])", [](const Sample& s) { return s.value >= 2; },
      20'000, &raw);
  INFO("answer: " << raw);
  REQUIRE(!zero.empty());
  CHECK(prometheus_query(prometheus.port(), series, &raw).at(0).value == 0);

  Client c(server->port());
  for (int i = 1; i <= 3; ++i)
    CHECK(roundtrip(c, post_request(usage_body("rate-" + std::to_string(i)))).status == (i < 3 ? 201 : 503));
  auto increased = query_until(
      prometheus.port(), "increase(" + series + "[1m])", [](const Sample& s) { return s.value > 0; }, 20'000, &raw);
  INFO("answer: " << raw);
  REQUIRE(increased.size() == 1);
  CHECK(increased[0].value > 0);
  CHECK(prometheus_query(prometheus.port(), "rate(" + series + "[1m]) > 0", &raw).size() == 1);
  CHECK(prometheus.process().stop(SIGTERM, 15'000).code == 0);
  CHECK(server->stop().code == 0);
}

TEST_CASE("process_* metrics, build info and per-shard series as Prometheus scrapes them", "[blackbox][ops][metrics]") {
  TestServer s({"--threads", "3"});
  TempDir prom_dir;
  PrometheusServer prometheus(prom_dir, s.port());
  std::string raw;
  const auto start = query_until(
      prometheus.port(), "process_start_time_seconds", [](const Sample&) { return true; }, 20'000, &raw);
  INFO("answer: " << raw);
  REQUIRE(start.size() == 1);
  const double now_s = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count()) /
                       1000.0;
  CHECK(start[0].value <= now_s);
  CHECK(start[0].value > now_s - 60);  // it started with this test

  const auto one = [&](const std::string& q) {
    const auto r = prometheus_query(prometheus.port(), q, &raw);
    INFO(q << ": " << raw);
    REQUIRE(r.size() == 1);
    return r[0].value;
  };
  const pid_t pid = s.server->pid();
  const double rss = one("process_resident_memory_bytes");
  const double rss_now = static_cast<double>(proc_status_kb(pid, "VmRSS")) * 1024;
  CHECK(rss > 0.5 * rss_now);
  CHECK(rss < 2 * rss_now);
  CHECK(one("process_virtual_memory_bytes") >= rss);
  CHECK(one("process_open_fds") >= 3 + 3);  // stdio, and at least a ring and a listener per shard
  CHECK(one("process_max_fds") >= one("process_open_fds"));
  CHECK(one("process_cpu_seconds_total") >= 0);
  CHECK(one("busyring_build_info{version=\"0.1.0\"}") == 1);
  const auto build = prometheus_query(prometheus.port(), "busyring_build_info", &raw);
  REQUIRE(build.size() == 1);
  CHECK(!label(build[0], "commit").empty());

  const auto turns = prometheus_query(prometheus.port(), "busyring_shard_loop_turns_total", &raw);
  INFO(raw);
  CHECK(turns.size() == 3);
  std::vector<std::string> shards;
  for (const Sample& t : turns) shards.push_back(label(t, "shard"));
  std::sort(shards.begin(), shards.end());
  CHECK(shards == std::vector<std::string>{"0", "1", "2"});
  CHECK(one("sum(busyring_shard_storage_healthy)") == 3);
  CHECK(prometheus.process().stop(SIGTERM, 15'000).code == 0);
  CHECK(s.server->stop().code == 0);
}
