// Black-box support for the etcd id source: a real etcd 3.4 cluster (Debian's etcd-server) of N
// members on free loopback ports, each with its own data dir in a temp dir, elections tuned
// for loopback (heartbeat 50 ms, election timeout 500 ms); members can be killed, stopped
// (SIGSTOP), resumed and restarted on their data dirs (they rejoin). etcdctl (etcd-client) reads
// and writes keys and asks who leads. A StallProxy sits between a node and one member when a
// test needs replies to be lost while the requests still reach etcd.
// Every wait has a deadline; destructors kill what still runs and assert nothing.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "program.h"

namespace blackbox::cluster {

constexpr const char* kEtcdPrefix = "/busyring/ids";
constexpr const char* kEtcdCounterKey = "/busyring/ids/counter";

// REQUIREs etcd and etcdctl on the PATH (a test fails rather than skips: `make deps` installs
// etcd-server and etcd-client).
void require_etcd();

class EtcdCluster {
 public:
  // Starts `members` members in dir/etcd-K, waits until every one is healthy, and puts the
  // counter to 0 (a new cluster sets it once; nodes never create it). REQUIREs all of it.
  explicit EtcdCluster(std::string dir, int members = 3);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int members() const { return static_cast<int>(members_.size()); }
  // Members are numbered 1..members().
  uint16_t client_port(int m) const;
  // etcd://127.0.0.1:P1,127.0.0.1:P2,.../busyring/ids (every member, in order).
  std::string url() const;
  bool running(int m) const;

  ExitStatus stop(int m, int sig);  // SIGTERM: clean; SIGKILL: a crash
  void pause(int m);                // SIGSTOP: its connections hang, nothing is refused
  void resume(int m);               // SIGCONT
  // Starts member m again on its data dir and ports; REQUIREs that it is healthy again.
  void restart(int m);

  // The member that leads, as the running, unpaused members see it (0: none agrees yet).
  int leader() const;
  // Waits until the members in `among` (all running ones if empty) agree on a leader; 0 at the deadline.
  int wait_leader(int timeout_ms, const std::vector<int>& among = {}) const;
  // Member m's raft applied index (0 when it does not answer).
  uint64_t applied_index(int m) const;
  // GET /health of member m says {"health":"true"} (it has a leader and quorum).
  bool healthy(int m) const;

  // Through any running member (etcdctl tries them in turn), or member `only` alone (a
  // linearizable read: it needs that member in the quorum); nullopt when etcdctl failed.
  std::optional<std::string> get(const std::string& key, int only = 0) const;  // "" when absent
  bool put(const std::string& key, const std::string& value) const;
  uint64_t counter() const;  // REQUIREs that it reads
  std::string output() const;  // every member's log, for failure messages

 private:
  struct Member {
    std::string name;
    std::string data_dir;
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    std::unique_ptr<Program> process;
    std::string past_output;
    bool paused = false;
  };
  bool start_all();
  void start(Member& m, bool existing);
  std::vector<std::string> etcdctl(const std::vector<int>& members) const;
  std::string endpoints(const std::vector<int>& members) const;
  std::vector<int> reachable() const;  // running and not paused

  std::string dir_;
  std::string token_;
  std::vector<Member> members_;
};

class Cluster;

// wait_until for conditions that run etcdctl (a process each): polled every 50 ms, not 2.
bool wait_until_paced(const std::function<bool()>& condition, int timeout_ms);

// The key of the node's record in etcd: PREFIX/node/<DATA_DIR/node-id>.
std::string node_record_key(const std::string& node_dir);

// With every node of an etcd cluster stopped: every id the counter went past is held by exactly
// one node: in its id-ranges, or (at most one range per node) named by its record in etcd and
// not yet adopted (a reservation whose reply the node never read; it takes it at its next
// call). Each node's record is its last range or that pending one. Returns the ids pending.
uint64_t check_etcd_accounting(Cluster& cluster);

// A TCP proxy on a free loopback port in front of one port: every connection is forwarded both
// ways, except that while replies are dropped, what the upstream answers is read and thrown
// away (the requests still arrive): a client sees its call time out after the server ran it.
// Armed with a marker, it starts dropping at the first request that carries it (say, the first
// write), so the requests before it are answered.
class StallProxy {
 public:
  explicit StallProxy(uint16_t upstream_port);
  ~StallProxy();
  StallProxy(const StallProxy&) = delete;
  StallProxy& operator=(const StallProxy&) = delete;

  uint16_t port() const { return port_; }
  void drop_replies(bool on) { dropping_.store(on); }
  // Drops every reply from the first request whose bytes hold `marker` on (that one's included).
  void drop_replies_from(const std::string& marker);
  bool dropping() const { return dropping_.load(); }
  uint64_t dropped_bytes() const { return dropped_.load(); }

 private:
  void run();

  uint16_t upstream_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> dropping_{false};
  std::mutex marker_mu_;
  std::string marker_;  // armed when not empty
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace blackbox::cluster
