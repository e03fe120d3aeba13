// The cluster tests' checks; see cluster_checks.h.
#include "cluster_checks.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>

#include <catch2/catch.hpp>

#include "cluster_helpers.h"
#include "pg_cluster.h"

namespace blackbox::cluster {

std::vector<Exported> export_records(const std::vector<std::string>& dirs) {
  std::vector<std::string> argv = {log_bin(), "export"};
  argv.insert(argv.end(), dirs.begin(), dirs.end());
  argv.insert(argv.end(), {"--format", "jsonl"});
  const CommandRun run = run_command(argv, {}, "", 60'000);
  INFO(log_bin() << " export: " << describe(run.status) << "\n" << tail(run.err));
  REQUIRE(run.ok());
  std::vector<Exported> out;
  std::stringstream lines(run.out);
  for (std::string line; std::getline(lines, line);) {
    // {"id":N,"shard":K,"arrival_ns":T,"body":{...}}
    INFO("export line: " << line);
    REQUIRE(line.rfind("{\"id\":", 0) == 0);
    const size_t body = line.find(",\"body\":");
    REQUIRE(body != std::string::npos);
    REQUIRE(line.back() == '}');
    const size_t from = body + 8;
    out.push_back(Exported{number_after(line, "{\"id\":"), line.substr(from, line.size() - 1 - from)});
  }
  return out;
}

Stats log_stats(const std::vector<std::string>& dirs) {
  std::vector<std::string> argv = {log_bin(), "stats"};
  argv.insert(argv.end(), dirs.begin(), dirs.end());
  argv.emplace_back("--json");
  const CommandRun run = run_command(argv, {}, "", 60'000);
  INFO(log_bin() << " stats: " << describe(run.status) << "\n" << tail(run.err));
  REQUIRE(run.status.exited);
  REQUIRE(run.out.find("\"max_id\":") != std::string::npos);
  Stats s;
  s.json = run.out;
  s.records = number_after(run.out, "\"records\":");
  s.max_id = number_after(run.out, "\"max_id\":");
  s.hole_ids = number_after(run.out, "\"holes\":{\"ids\":");
  s.duplicate_ids = number_after(run.out, "\"duplicate_ids\":");
  s.id_counter_min = number_after(run.out, "\"id_counter_min\":");
  return s;
}

std::vector<std::pair<uint64_t, uint64_t>> id_ranges(const std::string& node_dir) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  std::ifstream in(node_dir + "/id-ranges");
  uint64_t first = 0, end = 0;
  while (in >> first >> end) out.emplace_back(first, end);
  return out;
}

std::vector<uint64_t> unused_reserved_ids(const std::string& node_dir) {
  std::set<uint64_t> used;
  for (const auto& r : read_records(node_dir)) used.insert(r.id);
  std::vector<uint64_t> out;
  for (const auto& [first, end] : id_ranges(node_dir)) {
    for (uint64_t id = first; id < end; ++id)
      if (used.count(id) == 0) out.push_back(id);
  }
  return out;
}

Stats check_records(Cluster& cluster, const IdBodies& acked) {
  INFO(cluster.logs());
  const std::vector<std::string> dirs = cluster.node_dirs();
  std::map<uint64_t, std::string> exported;
  uint64_t twice = 0;
  for (auto& r : export_records(dirs)) {
    if (!exported.emplace(r.id, std::move(r.body)).second) ++twice;
  }
  CHECK(twice == 0);
  uint64_t lost = 0, wrong_body = 0;
  for (const auto& [id, body] : acked) {
    const auto it = exported.find(id);
    if (it == exported.end()) {
      if (++lost <= 5) UNSCOPED_INFO("acknowledged id " << id << " is not in the export");
    } else if (it->second != body) {
      if (++wrong_body <= 5) UNSCOPED_INFO("id " << id << ": sent " << body << ", exported " << it->second);
    }
  }
  CHECK(lost == 0);
  CHECK(wrong_body == 0);

  // Ranges: disjoint across nodes, each node's records inside its own, Redis above them all.
  std::vector<std::tuple<uint64_t, uint64_t, int>> ranges;
  for (int k = 1; k <= cluster.nodes(); ++k) {
    const auto own = id_ranges(cluster.node_dir(k));
    CHECK(!own.empty());
    for (const auto& [first, end] : own) {
      CHECK(first < end);
      ranges.emplace_back(first, end, k);
    }
    uint64_t outside = 0;
    for (const auto& r : read_records(cluster.node_dir(k))) {
      bool inside = false;
      for (const auto& [first, end] : own) inside = inside || (r.id >= first && r.id < end);
      if (!inside && ++outside <= 5) UNSCOPED_INFO("node " << k << " stored id " << r.id << " outside its ranges");
    }
    CHECK(outside == 0);
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t overlaps = 0, top = 0;
  for (size_t i = 0; i < ranges.size(); ++i) {
    top = std::max(top, std::get<1>(ranges[i]));
    if (i > 0 && std::get<0>(ranges[i]) < std::get<1>(ranges[i - 1]) && ++overlaps <= 5)
      UNSCOPED_INFO("range [" << std::get<0>(ranges[i - 1]) << "," << std::get<1>(ranges[i - 1]) << ") of node "
                              << std::get<2>(ranges[i - 1]) << " overlaps [" << std::get<0>(ranges[i]) << ","
                              << std::get<1>(ranges[i]) << ") of node " << std::get<2>(ranges[i]));
  }
  CHECK(overlaps == 0);
  CHECK(cluster.counter() + 1 >= top);

  const Stats stats = log_stats(dirs);
  INFO(stats.json);
  CHECK(stats.duplicate_ids == 0);
  CHECK(stats.records == exported.size());
  return stats;
}

int healthz(uint16_t port, std::string* body) {
  std::string error;
  const auto reply = http_get(port, "/healthz", 5'000, &error);
  if (!reply) return 0;
  if (body != nullptr) *body = reply->body;
  return reply->status;
}

// ---- checks shared by the tests of an id store in trouble ----

void check_answers(const FrontLoad& load, const Cluster& cluster) {
  uint64_t without_retry_after = 0, errors = 0, other_codes = 0;
  for (const auto& log : load.logs()) {
    without_retry_after += log.unavailable_without_retry_after;
    errors += log.errors.size();
    for (const auto& e : log.errors) UNSCOPED_INFO("status " << e.status << ": " << e.detail);
    for (const auto& [code, n] : log.unavailable_codes) {
      if (code == "id_source_unavailable" || code == "no_node_available") continue;
      other_codes += n;
      UNSCOPED_INFO(n << " x 503 " << code);
    }
  }
  INFO((without_retry_after + errors + other_codes > 0 ? cluster.logs() : ""));
  CHECK(without_retry_after == 0);
  CHECK(errors == 0);
  CHECK(other_codes == 0);
}

bool wait_all_healthz(const Cluster& cluster, int status, int timeout_ms) {
  return wait_until(
      [&] {
        for (int k = 1; k <= cluster.nodes(); ++k)
          if (healthz(cluster.node_port(k)) != status) return false;
        return true;
      },
      timeout_ms);
}

std::string check_refuses_for_want_of_ids(Cluster& cluster, int k, IdBodies& direct, uint64_t id_block) {
  Client c(cluster.node_port(k));
  REQUIRE(c.connected());
  for (uint64_t i = 0; i <= id_block; ++i) {
    const std::string body = usage_body("direct-" + std::to_string(k) + "-" + std::to_string(direct.size()));
    const Response r = roundtrip(c, post_request(body));
    INFO("node " << k << ", direct post " << i << ": " << r.status << " " << r.body);
    if (r.status == 201) {
      REQUIRE(direct.emplace(id_of(r), body).second);
      continue;
    }
    check_error(r, 503, "id_source_unavailable");
    CHECK(r.header("Retry-After") == std::optional<std::string>("1"));
    std::string health;
    CHECK(healthz(cluster.node_port(k), &health) == 503);
    INFO("healthz: " << health);
    CHECK(!health.empty());
    return health;
  }
  FAIL("node " << k << " still issued ids after " << id_block + 1 << " direct posts");
  return "";
}

IdBodies all_acked(const FrontLoad& load, const IdBodies& direct) {
  IdBodies all = load.acked_ids();
  for (const auto& [id, body] : direct) {
    INFO("id " << id << " was acknowledged through the front and straight from a node");
    REQUIRE(all.emplace(id, body).second);
  }
  return all;
}

std::vector<pid_t> node_pids(Cluster& cluster) {
  std::vector<pid_t> out;
  for (int k = 1; k <= cluster.nodes(); ++k) out.push_back(cluster.node(k).pid());
  return out;
}

uint64_t total_503(const FrontLoad& load, const std::string& code) {
  uint64_t n = 0;
  for (const auto& log : load.logs()) {
    const auto it = log.unavailable_codes.find(code);
    if (it != log.unavailable_codes.end()) n += it->second;
  }
  return n;
}

uint64_t id_source_calls(uint16_t port) {
  std::string error;
  const auto reply = http_get(port, "/metrics", 5'000, &error);
  if (!reply) return 0;
  const std::string key = "\nbusyring_id_source_calls_total ";
  const size_t at = reply->body.find(key);
  return at == std::string::npos ? 0 : std::strtoull(reply->body.c_str() + at + key.size(), nullptr, 10);
}

void check_front_refuses_when_all_down(Cluster& cluster, const std::string& tag) {
  for (int k = 1; k <= cluster.nodes(); ++k)
    BR_REQUIRE_LOGGED(cluster, cluster.wait_server_status(k, "DOWN", 30'000));
  Client c(cluster.front_port());
  REQUIRE(c.connected());
  const Response r = roundtrip(c, post_request(usage_body(tag)));
  INFO("front: " << r.status << " " << r.body);
  check_error(r, 503, "no_node_available");
  CHECK(r.header("Retry-After") == std::optional<std::string>("1"));
}

FinalCheck stop_and_check_records(Cluster& cluster, FrontLoad& load, const IdBodies& direct) {
  load.stop();
  check_answers(load, cluster);
  FinalCheck out;
  out.acked = all_acked(load, direct);  // REQUIREs unique ids
  cluster.stop_nodes();
  out.stats = check_records(cluster, out.acked);
  INFO(out.stats.json);
  CHECK(out.stats.records == out.acked.size());
  return out;
}

}  // namespace blackbox::cluster
