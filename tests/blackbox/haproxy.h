// A real HAProxy in front of the cluster tests' nodes: contrib/haproxy/busyring.cfg with one
// `server` line per node, on a free loopback front port, its runtime socket in the test's dir;
// `show stat` on that socket says which nodes it sees UP and how many requests each got.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "program.h"

namespace blackbox::cluster {

constexpr const char* kHaproxyCfg = "contrib/haproxy/busyring.cfg";

// contrib/haproxy/busyring.cfg with one `server` line per node port; REQUIREs its markers.
std::string haproxy_config(const std::vector<uint16_t>& node_ports);

// Per server, from HAProxy's `show stat`.
struct ServerStat {
  std::string status;        // "UP", "DOWN", "UP 1/2", "no check", ...
  std::string check_status;  // "L7OK", "L4CON", "L7STS", ...
  uint64_t selected = 0;     // lbtot: requests HAProxy sent to it
  uint64_t retries = 0;      // wretr
  uint64_t redispatches = 0; // wredis
};

class Haproxy {
 public:
  // Writes dir/haproxy.cfg for these nodes and starts HAProxy on a free front port (a process
  // that ran before is replaced); true once its runtime socket answers, false when it ended
  // (a front port lost to a race: call again).
  bool start(const std::string& dir, const std::vector<uint16_t>& node_ports, const std::string& check_inter);
  uint16_t front_port() const { return front_port_; }
  // The servers of backend busyring_nodes by name ("node1", ...); empty when the socket did
  // not answer.
  std::map<std::string, ServerStat> show_stat() const;
  std::string output() const { return process_ ? process_->output() : ""; }

 private:
  uint16_t front_port_ = 0;
  std::string socket_path_;
  std::unique_ptr<Program> process_;
};

}  // namespace blackbox::cluster
