// Black-box support for the cluster tests: a real Redis (contrib/redis/busyring.conf), N busyring
// nodes taking ids from it (`--id-source redis://...`), and a real HAProxy in front
// (contrib/haproxy/busyring.cfg with N server lines), every one on loopback ports in one temp
// dir. HAProxy's runtime socket says which nodes it sees UP and how many requests each got; a
// load driver posts through the front, reconnecting after errors, and keeps every answer.
// Every wait has a deadline; destructors kill what still runs and assert nothing.
#pragma once

#include <atomic>
#include <sys/types.h>

#include <csignal>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "etcd_cluster.h"
#include "harness.h"
#include "load_driver.h"
#include "program.h"

// REQUIRE(condition) for a cluster test: on failure the message carries the end of every log
// (Redis, HAProxy, each node), taken when the condition was found false.
#define BR_REQUIRE_LOGGED(cluster, ...)                                   \
  do {                                                                    \
    const bool br_holds_ = static_cast<bool>(__VA_ARGS__);                \
    INFO(#__VA_ARGS__ << "\n" << (br_holds_ ? "" : (cluster).logs())); \
    REQUIRE(br_holds_);                                                   \
  } while (0)

namespace blackbox::cluster {

constexpr const char* kKey = "busyring:ids";

// The full path of an executable found on PATH (or in the sbin dirs), "" when there is none.
std::string program_path(const std::string& name);

// contrib/haproxy/busyring.cfg with one `server` line per node port; REQUIREs its markers.
std::string haproxy_config(const std::vector<uint16_t>& node_ports);

// "" when a cluster can run here, else why not (redis-server or haproxy missing, a server
// binary without --id-source, the configs not found from the working directory).
std::string unavailable();
// FAILs the test, naming what is missing and the package that brings it, when unavailable():
// `make test` installs every part a cluster needs, so a cluster test never skips.
void require_cluster_parts();

// redis-server with the project's config on a free port, its AOF in `dir`, and passwords as
// contrib/redis/busyring.conf advises (issue 18): the default user (the tests' redis-cli, given
// its password in REDISCLI_AUTH) and an ACL user `busyring` for the nodes, allowed only the id
// script's commands on busyring:* keys. Each Redis has its own random passwords.
class Redis {
 public:
  explicit Redis(std::string dir);  // REQUIREs that it answers PING
  ~Redis();
  Redis(const Redis&) = delete;
  Redis& operator=(const Redis&) = delete;

  // Starts it again on the same port, on `dir` (empty: the same dir, i.e. from its AOF).
  void restart(const std::string& dir = "");
  ExitStatus stop(int sig);  // SIGTERM: a clean shutdown; SIGKILL: a crash
  void pause();              // SIGSTOP: connections hang, nothing is refused
  void resume();             // SIGCONT
  // One command through redis-cli; the reply's text (nullopt if redis-cli failed).
  std::optional<std::string> command(const std::vector<std::string>& args) const;
  uint64_t counter() const;  // GET busyring:ids (0 when unset)
  uint16_t port() const { return port_; }
  std::string url() const;   // redis://127.0.0.1:PORT/busyring:ids
  // The nodes' credentials file ("busyring PASSWORD"), and the flags that point a node here.
  const std::string& credentials_file() const { return credentials_file_; }
  std::vector<std::string> id_source_args() const;
  std::string output() const;

 private:
  bool start();

  void write_auth_files();

  std::string dir_;
  std::string config_file_;       // includes the project's config, adds the users
  std::string credentials_file_;  // for the nodes (--id-source-password-file)
  std::string admin_password_;    // the default user's, for redis-cli
  uint16_t port_ = 0;
  pid_t pid_ = -1;  // from INFO server (Program keeps its child's pid to itself)
  std::unique_ptr<Program> process_;
  std::string past_output_;  // of the processes before a restart
};

// Where the nodes' ids come from.
enum class IdStore { redis, etcd };

struct ClusterOptions {
  int nodes = 3;
  int id_reserve = 256;
  int threads = 1;
  std::string check_inter = "100ms";  // HAProxy's health check interval
  IdStore store = IdStore::redis;     // etcd: a three-member etcd cluster (etcd_cluster.h)
};

// Per server, from HAProxy's `show stat`.
struct ServerStat {
  std::string status;        // "UP", "DOWN", "UP 1/2", "no check", ...
  std::string check_status;  // "L7OK", "L4CON", "L7STS", ...
  uint64_t selected = 0;     // lbtot: requests HAProxy sent to it
  uint64_t retries = 0;      // wretr
  uint64_t redispatches = 0; // wredis
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
  uint16_t front_port() const { return front_port_; }
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
  bool try_start_haproxy();
  std::map<std::string, ServerStat> show_stat() const;

  ClusterOptions options_;
  TempDir dir_;
  std::unique_ptr<Redis> redis_;
  std::unique_ptr<EtcdCluster> etcd_;
  std::map<int, std::string> id_source_overrides_;
  std::vector<uint16_t> node_ports_;
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
  std::vector<std::string> past_node_logs_;  // stderr of the processes a restart replaced
  uint16_t front_port_ = 0;
  std::string haproxy_socket_;
  std::unique_ptr<Program> haproxy_;
};

// What one connection of FrontLoad saw.
struct FrontError {
  int64_t at_ms = 0;
  int status = 0;      // 0: the connection failed (reset, EOF) with the request unanswered
  std::string detail;  // the client's error, or the body
};
struct FrontLog {
  std::vector<Ack> acked;
  uint64_t unavailable = 0;  // 503s
  uint64_t unavailable_without_retry_after = 0;
  std::map<std::string, uint64_t> unavailable_codes;  // 503s by "error" code
  std::vector<FrontError> errors;                      // anything else
  uint64_t reconnects = 0;
};

struct FrontLoadOptions {
  int connections = 16;
  std::string tag = "front";
  uint64_t budget = 0;       // total requests to send over all connections (0: until stop())
  int pause_after_503_ms = 20;  // a polite client waits on Retry-After; shortened here
};

// Posts through the front over keep-alive connections, one thread each; a connection that
// fails is counted (with the request it carried) and opened again.
class FrontLoad {
 public:
  FrontLoad(uint16_t port, FrontLoadOptions options);
  ~FrontLoad();  // stop()
  FrontLoad(const FrontLoad&) = delete;
  FrontLoad& operator=(const FrontLoad&) = delete;

  uint64_t acked() const { return acked_.load(std::memory_order_relaxed); }
  uint64_t unavailable() const { return unavailable_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  // acked() >= n within the deadline (false early when every thread has ended).
  bool wait_acked(uint64_t n, int timeout_ms) const;
  bool wait_unavailable(uint64_t n, int timeout_ms) const;
  // With a budget: waits until every thread has sent its share and read the answers.
  bool wait_done(int timeout_ms) const;
  void stop();
  const std::vector<FrontLog>& logs() const { return logs_; }  // after stop()
  IdBodies acked_ids() const;  // REQUIREs that no id was acknowledged twice

 private:
  void run(int index);

  uint16_t port_;
  FrontLoadOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> unavailable_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<int> running_{0};
  std::vector<FrontLog> logs_;
  std::vector<std::thread> threads_;
};

// busyring-log (BUSYRING_LOG_BIN, else next to the server binary).
std::string log_bin();

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

}  // namespace blackbox::cluster
