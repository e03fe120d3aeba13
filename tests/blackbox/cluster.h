// Black-box support for the cluster tests: a real Redis (redis_server.h) or etcd cluster
// (etcd_cluster.h) holding the id counter, N busyring nodes taking ids from it
// (`--id-source redis://...`), and a real HAProxy in front (haproxy.h), every one on loopback
// ports in one temp dir. This file owns the nodes' lifecycle: start, stop, restart on the same
// port and dir. The load through the front is front_load.h; the checks, cluster_checks.h.
// Every wait has a deadline; destructors kill what still runs and assert nothing.
#pragma once

#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cluster_helpers.h"
#include "etcd_cluster.h"
#include "haproxy.h"
#include "harness.h"
#include "program.h"
#include "redis_server.h"

// REQUIRE(condition) for a cluster test: on failure the message carries the end of every log
// (Redis, HAProxy, each node), taken when the condition was found false.
#define BR_REQUIRE_LOGGED(cluster, ...)                                   \
  do {                                                                    \
    const bool br_holds_ = static_cast<bool>(__VA_ARGS__);                \
    INFO(#__VA_ARGS__ << "\n" << (br_holds_ ? "" : (cluster).logs())); \
    REQUIRE(br_holds_);                                                   \
  } while (0)

namespace blackbox::cluster {

// "" when a cluster can run here, else why not (redis-server or haproxy missing, a server
// binary without --id-source, the configs not found from the working directory).
std::string unavailable();
// FAILs the test, naming what is missing and the package that brings it, when unavailable():
// `make test` installs every part a cluster needs, so a cluster test never skips.
void require_cluster_parts();

// Where the nodes' ids come from.
enum class IdStore { redis, etcd };

struct ClusterOptions {
  int nodes = 3;
  int id_reserve = 256;
  int threads = 1;
  std::string check_inter = "100ms";  // HAProxy's health check interval
  IdStore store = IdStore::redis;     // etcd: a three-member etcd cluster (etcd_cluster.h)
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});  // REQUIREs that every piece starts and every node is UP
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  Redis& redis();       // REQUIREs a cluster of IdStore::redis
  EtcdCluster& etcd();  // REQUIREs a cluster of IdStore::etcd
  uint64_t counter() const;  // the store's counter: the last id it handed out
  // Node k's --id-source from its next start on (a proxy in front of the store, say).
  void set_node_id_source(int k, std::string url);
  int nodes() const { return options_.nodes; }
  uint16_t front_port() const { return haproxy_->front_port(); }
  // Nodes are numbered 1..nodes().
  uint16_t node_port(int k) const { return node_ports_.at(static_cast<size_t>(k - 1)); }
  std::string node_dir(int k) const;
  std::vector<std::string> node_dirs() const;
  ServerProcess& node(int k) { return *nodes_.at(static_cast<size_t>(k - 1)); }
  // Starts node k on its port and dir (after a stop); REQUIREs that it listens.
  void start_node(int k);
  ExitStatus stop_node(int k, int sig = SIGTERM);
  // SIGTERM to every running node; REQUIREs exit 0 from each.
  void stop_nodes();

  // HAProxy's view of node k (empty status when the socket did not answer).
  ServerStat server(int k) const;
  bool wait_server_status(int k, std::string_view status, int timeout_ms) const;
  bool wait_all_up(int timeout_ms) const;
  std::string haproxy_output() const { return haproxy_->output(); }
  // The end of every log (Redis, HAProxy, each node's stderr), for failure messages.
  std::string logs() const;

 private:
  std::vector<std::string> node_args(int k) const;

  ClusterOptions options_;
  TempDir dir_;
  std::unique_ptr<Redis> redis_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::map<int, std::string> id_source_overrides_;
  std::vector<uint16_t> node_ports_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
  std::vector<std::string> past_node_logs_;  // stderr of the processes a restart replaced
  std::unique_ptr<Haproxy> haproxy_;
};

}  // namespace blackbox::cluster
