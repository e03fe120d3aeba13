// The cluster tests' nodes and the pieces around them; see cluster.h.
// Ports: the nodes get a free loopback port each (a port lost to a race is retried with another
// at first start); a restart reuses the same port, since HAProxy's config names it.
#include "cluster.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <catch2/catch.hpp>

#include "load_driver.h"
#include "pg_cluster.h"

namespace blackbox::cluster {

std::string unavailable() {
  const char* const tools[][2] = {{"redis-server", "redis-server"}, {"redis-cli", "redis-tools"}, {"haproxy", "haproxy"}};
  for (const auto& [tool, package] : tools) {
    if (program_path(tool).empty())
      return std::string(tool) + " is missing (Debian package " + package + "; `make deps` installs it)";
  }
  for (const char* file : {kRedisConf, kHaproxyCfg}) {
    if (access(file, R_OK) != 0) return std::string(file) + " not found (run from the repository root)";
  }
  std::string help;
  if (run_command(server_bin() + " --help", &help) < 0 || help.find("--id-source") == std::string::npos)
    return server_bin() + " has no --id-source (a build older than the Redis id source)";
  return "";
}

void require_cluster_parts() {
  const std::string why = unavailable();
  if (!why.empty()) FAIL("a cluster cannot run here: " << why);
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  REQUIRE(options_.nodes >= 1);
  if (options_.store == IdStore::etcd) {
    etcd_ = std::make_unique<EtcdCluster>(dir_.path());
  } else {
    REQUIRE(mkdir(dir_.sub("redis").c_str(), 0755) == 0);
    redis_ = std::make_unique<Redis>(dir_.sub("redis"));
  }
  nodes_.resize(static_cast<size_t>(options_.nodes));
  node_ports_.resize(static_cast<size_t>(options_.nodes));
  past_node_logs_.resize(static_cast<size_t>(options_.nodes));
  for (int k = 1; k <= options_.nodes; ++k) {
    // A port taken between free_loopback_port() and the node's bind: another one.
    bool listening = false;
    for (int attempt = 0; attempt < 3 && !listening; ++attempt) {
      node_ports_[static_cast<size_t>(k - 1)] = free_loopback_port();
      auto& slot = nodes_[static_cast<size_t>(k - 1)];
      if (slot) past_node_logs_[static_cast<size_t>(k - 1)] += slot->stderr_text();
      slot = std::make_unique<ServerProcess>(node_args(k));
      listening = slot->wait_listening(kServerStartMs);
    }
    INFO("node " << k << ", every attempt:\n" << tail(past_node_logs_[static_cast<size_t>(k - 1)] + node(k).stderr_text()));
    REQUIRE(listening);
  }
  haproxy_ = std::make_unique<Haproxy>();
  bool started = false;
  for (int attempt = 0; attempt < 3 && !started; ++attempt)
    started = haproxy_->start(dir_.path(), node_ports_, options_.check_inter);
  INFO(logs());
  REQUIRE(started);
  REQUIRE(wait_all_up(kServerStartMs));
}

Cluster::~Cluster() {
  haproxy_.reset();
  nodes_.clear();
  redis_.reset();
  etcd_.reset();
}

Redis& Cluster::redis() {
  REQUIRE(redis_ != nullptr);
  return *redis_;
}

EtcdCluster& Cluster::etcd() {
  REQUIRE(etcd_ != nullptr);
  return *etcd_;
}

uint64_t Cluster::counter() const { return redis_ ? redis_->counter() : etcd_->counter(); }

void Cluster::set_node_id_source(int k, std::string url) { id_source_overrides_[k] = std::move(url); }

std::string Cluster::node_dir(int k) const { return dir_.sub("node-" + std::to_string(k)); }

std::vector<std::string> Cluster::node_dirs() const {
  std::vector<std::string> out;
  for (int k = 1; k <= options_.nodes; ++k) out.push_back(node_dir(k));
  return out;
}

std::vector<std::string> Cluster::node_args(int k) const {
  const auto chosen = id_source_overrides_.find(k);
  const std::string id_source_url =
      chosen != id_source_overrides_.end() ? chosen->second : redis_ ? redis_->url() : etcd_->url();
  // --cpu-affinity none: `auto` would pin every one-shard node to the same first CPU.
  std::vector<std::string> args = {"--port", std::to_string(node_port(k)), "--bind", "127.0.0.1", "--data-dir",
                                   node_dir(k), "--threads", std::to_string(options_.threads), "--cpu-affinity",
                                   "none", "--segment-size", "1M", "--id-source", id_source_url,
                                   "--id-reserve", std::to_string(options_.id_reserve)};
  if (redis_) {
    // The ACL user of the test's Redis (the etcd clusters of these tests run without users).
    args.push_back("--id-source-password-file");
    args.push_back(redis_->credentials_file());
  }
  return args;
}

void Cluster::start_node(int k) {
  auto& slot = nodes_.at(static_cast<size_t>(k - 1));
  if (slot) {
    REQUIRE(!slot->running());
    past_node_logs_[static_cast<size_t>(k - 1)] += slot->stderr_text();
  }
  slot = std::make_unique<ServerProcess>(node_args(k));
  const bool listening = slot->wait_listening(kServerStartMs);
  INFO("node " << k << ":\n" << tail(slot->stderr_text()));
  REQUIRE(listening);
}

ExitStatus Cluster::stop_node(int k, int sig) { return node(k).stop(sig, 30'000); }

void Cluster::stop_nodes() {
  for (int k = 1; k <= options_.nodes; ++k) {
    if (!node(k).running()) continue;
    const ExitStatus st = stop_node(k, SIGTERM);
    INFO("node " << k << ": " << describe(st) << "\n" << tail(node(k).stderr_text()));
    REQUIRE(st.exited);
    REQUIRE(st.code == 0);
  }
}

ServerStat Cluster::server(int k) const {
  const auto all = haproxy_->show_stat();
  const auto it = all.find("node" + std::to_string(k));
  return it == all.end() ? ServerStat{} : it->second;
}

bool Cluster::wait_server_status(int k, std::string_view status, int timeout_ms) const {
  // Each poll is one runtime-socket round trip; 20 ms apart keeps HAProxy's CPU out of the test.
  const int64_t deadline = now_ms() + timeout_ms;
  while (true) {
    const ServerStat s = server(k);
    if (s.status == status && (status != "UP" || s.check_status == "L7OK")) return true;
    if (now_ms() >= deadline) return false;
    pause_ms(20);
  }
}

bool Cluster::wait_all_up(int timeout_ms) const {
  const int64_t deadline = now_ms() + timeout_ms;
  for (int k = 1; k <= options_.nodes; ++k) {
    if (!wait_server_status(k, "UP", static_cast<int>(std::max<int64_t>(0, deadline - now_ms())))) return false;
  }
  return true;
}

std::string Cluster::logs() const {
  std::string out = redis_ ? "--- redis-server:\n" + tail(redis_->output(), 2000) : etcd_->output();
  out += "\n--- haproxy:\n" + tail(haproxy_ ? haproxy_->output() : "", 2000);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    out += "\n--- node " + std::to_string(i + 1) + ":\n";
    out += tail(past_node_logs_[i] + (nodes_[i] ? nodes_[i]->stderr_text() : ""), 3000);
  }
  return out;
}

}  // namespace blackbox::cluster
