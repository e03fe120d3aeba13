// A real etcd cluster for the etcd id source's tests, and the reply-dropping proxy; see
// etcd_cluster.h. Ports: two free loopback ports per member (client, peer); a start that loses
// one to a race is retried on new ports; a restart reuses them (the others know them).
#include "etcd_cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string_view>

#include <catch2/catch.hpp>

#include "cluster_checks.h"
#include "pg_cluster.h"

namespace blackbox::cluster {
namespace {

constexpr int kStartMs = 30'000;  // three members electing a leader on a loaded 2-core box
constexpr int kPollMs = 50;       // between etcdctl calls: each one is a process

}  // namespace

void require_etcd() {
  for (const char* tool : {"etcd", "etcdctl"}) {
    INFO(tool << " is missing: `make deps` installs etcd-server and etcd-client (or apt-get install them)");
    REQUIRE(!program_path(tool).empty());
  }
}

EtcdCluster::EtcdCluster(std::string dir, int members) : dir_(std::move(dir)) {
  require_etcd();
  REQUIRE(members >= 1);
  members_.resize(static_cast<size_t>(members));
  bool up = false;
  for (int attempt = 0; attempt < 3 && !up; ++attempt) up = start_all();
  INFO("etcd:\n" << tail(output(), 6000));
  REQUIRE(up);
  REQUIRE(put(kEtcdCounterKey, "0"));
}

EtcdCluster::~EtcdCluster() {
  for (Member& m : members_) {
    if (m.process && m.paused) (void)kill(m.process->pid(), SIGCONT);
  }
}  // each Program's destructor SIGKILLs and reaps

bool EtcdCluster::start_all() {
  static std::atomic<int> clusters{0};
  token_ = "busyring-test-" + std::to_string(getpid()) + "-" + std::to_string(clusters.fetch_add(1));
  for (size_t i = 0; i < members_.size(); ++i) {
    Member& m = members_[i];
    if (m.process) {
      (void)m.process->stop(SIGKILL, 10'000);
      m.past_output += m.process->output();
      m.process.reset();
    }
    m.name = "m" + std::to_string(i + 1);
    m.data_dir = dir_ + "/etcd-" + std::to_string(i + 1) + "-" + token_;
    m.client_port = free_loopback_port();
    m.peer_port = free_loopback_port();
  }
  for (Member& m : members_) start(m, false);
  return wait_until_paced(
      [&] {
        for (int k = 1; k <= members(); ++k)
          if (!running(k) || !healthy(k)) return false;
        return true;
      },
      kStartMs);
}

void EtcdCluster::start(Member& m, bool existing) {
  std::string initial;
  for (const Member& other : members_)
    initial += (initial.empty() ? "" : ",") + other.name + "=http://127.0.0.1:" + std::to_string(other.peer_port);
  const std::string client = "http://127.0.0.1:" + std::to_string(m.client_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  m.paused = false;
  m.process = std::make_unique<Program>(std::vector<std::string>{
      program_path("etcd"), "--name", m.name, "--data-dir", m.data_dir, "--listen-client-urls", client,
      "--advertise-client-urls", client, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
      "--initial-cluster", initial, "--initial-cluster-state", existing ? "existing" : "new",
      "--initial-cluster-token", token_, "--logger", "zap", "--log-outputs", "stderr"});
}

uint16_t EtcdCluster::client_port(int m) const { return members_.at(static_cast<size_t>(m - 1)).client_port; }

std::string EtcdCluster::url() const {
  std::string out = "etcd://";
  for (size_t i = 0; i < members_.size(); ++i)
    out += (i > 0 ? "," : "") + std::string("127.0.0.1:") + std::to_string(members_[i].client_port);
  return out + kEtcdPrefix;
}

bool EtcdCluster::running(int m) const {
  const Member& member = members_.at(static_cast<size_t>(m - 1));
  return member.process && member.process->running();
}

ExitStatus EtcdCluster::stop(int m, int sig) {
  Member& member = members_.at(static_cast<size_t>(m - 1));
  if (member.paused) resume(m);  // a stopped process would sit on the signal
  return member.process->stop(sig, 15'000);
}

void EtcdCluster::pause(int m) {
  Member& member = members_.at(static_cast<size_t>(m - 1));
  REQUIRE(running(m));
  REQUIRE(kill(member.process->pid(), SIGSTOP) == 0);
  member.paused = true;
}

void EtcdCluster::resume(int m) {
  Member& member = members_.at(static_cast<size_t>(m - 1));
  if (running(m)) (void)kill(member.process->pid(), SIGCONT);
  member.paused = false;
}

void EtcdCluster::restart(int m) {
  Member& member = members_.at(static_cast<size_t>(m - 1));
  REQUIRE(!running(m));
  member.past_output += member.process->output();
  start(member, true);
  const bool healthy_again = wait_until_paced([&] { return running(m) && healthy(m); }, kStartMs);
  INFO("etcd " << member.name << ":\n" << tail(member.process->output()));
  REQUIRE(healthy_again);
}

std::vector<int> EtcdCluster::reachable() const {
  std::vector<int> out;
  for (int k = 1; k <= members(); ++k)
    if (running(k) && !members_[static_cast<size_t>(k - 1)].paused) out.push_back(k);
  return out;
}

std::string EtcdCluster::endpoints(const std::vector<int>& members) const {
  std::string out;
  for (const int k : members) out += (out.empty() ? "" : ",") + std::string("http://127.0.0.1:") +
                                     std::to_string(client_port(k));
  return out;
}

std::vector<std::string> EtcdCluster::etcdctl(const std::vector<int>& members) const {
  return {program_path("etcdctl"), "--endpoints=" + endpoints(members), "--dial-timeout=1s", "--command-timeout=3s"};
}

int EtcdCluster::leader() const {
  // Each member's own id and the leader it follows; agreed when every one names the same.
  std::map<uint64_t, int> index_of;
  std::vector<uint64_t> followed;
  for (const int k : reachable()) {
    auto argv = etcdctl({k});
    argv.insert(argv.end(), {"endpoint", "status", "-w", "json"});
    const CommandRun run = run_command(argv, {}, "", 5'000);
    if (!run.ok()) continue;
    index_of[number_after(run.out, "\"member_id\":")] = k;
    followed.push_back(number_after(run.out, "\"leader\":"));
  }
  if (followed.empty() || followed.front() == 0) return 0;
  for (const uint64_t id : followed)
    if (id != followed.front()) return 0;
  const auto it = index_of.find(followed.front());
  return it == index_of.end() ? 0 : it->second;
}

int EtcdCluster::wait_leader(int timeout_ms, const std::vector<int>& among) const {
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    const int l = leader();
    const bool counted = among.empty() || std::find(among.begin(), among.end(), l) != among.end();
    if (l != 0 && counted) return l;
    if (now_ms() >= deadline) return 0;
    pause_ms(kPollMs);
  }
}

uint64_t EtcdCluster::applied_index(int m) const {
  auto argv = etcdctl({m});
  argv.insert(argv.end(), {"endpoint", "status", "-w", "json"});
  const CommandRun run = run_command(argv, {}, "", 5'000);
  return run.ok() ? number_after(run.out, "\"raftAppliedIndex\":") : 0;
}

bool EtcdCluster::healthy(int m) const {
  std::string error;
  const auto reply = http_get(client_port(m), "/health", 3'000, &error);
  return reply && reply->status == 200 && reply->body.find("\"health\":\"true\"") != std::string::npos;
}

std::optional<std::string> EtcdCluster::get(const std::string& key, int only) const {
  auto argv = etcdctl(only != 0 ? std::vector<int>{only} : reachable());
  argv.insert(argv.end(), {"get", key, "--print-value-only"});
  const CommandRun run = run_command(argv, {}, "", 10'000);
  if (!run.ok()) return std::nullopt;
  std::string value = run.out;
  if (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

bool EtcdCluster::put(const std::string& key, const std::string& value) const {
  auto argv = etcdctl(reachable());
  argv.insert(argv.end(), {"put", key, value});
  return run_command(argv, {}, "", 10'000).ok();
}

uint64_t EtcdCluster::counter() const {
  const auto value = get(kEtcdCounterKey);
  INFO("etcdctl get " << kEtcdCounterKey << " failed");
  REQUIRE(value.has_value());
  return std::strtoull(value->c_str(), nullptr, 10);
}

std::string EtcdCluster::output() const {
  std::string out;
  for (const Member& m : members_)
    out += "--- etcd " + m.name + ":\n" + tail(m.past_output + (m.process ? m.process->output() : ""), 2500) + "\n";
  return out;
}

// ---- checks over the nodes and etcd ----

bool wait_until_paced(const std::function<bool()>& condition, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (!condition()) {
    if (now_ms() >= deadline) return condition();
    pause_ms(kPollMs);
  }
  return true;
}

std::string node_record_key(const std::string& node_dir) {
  std::ifstream in(node_dir + "/node-id");
  std::string id;
  in >> id;
  INFO(node_dir << "/node-id");
  REQUIRE(id.size() == 16);
  return std::string(kEtcdPrefix) + "/node/" + id;
}

uint64_t check_etcd_accounting(Cluster& cluster) {
  INFO(cluster.logs());
  uint64_t held = 0, pending = 0;
  for (int k = 1; k <= cluster.nodes(); ++k) {
    const auto ranges = id_ranges(cluster.node_dir(k));
    REQUIRE(!ranges.empty());
    for (const auto& [first, end] : ranges) held += end - first;
    const auto record = cluster.etcd().get(node_record_key(cluster.node_dir(k)));
    REQUIRE(record.has_value());
    const std::string last = std::to_string(ranges.back().first) + " " + std::to_string(ranges.back().second);
    if (*record == last) continue;
    // A range reserved for the node whose reply it never read: above everything it holds.
    uint64_t first = 0, end = 0;
    INFO("node " << k << ": record '" << *record << "', last range in id-ranges '" << last << "'");
    REQUIRE(std::sscanf(record->c_str(), "%" SCNu64 " %" SCNu64, &first, &end) == 2);
    CHECK(first >= ranges.back().second);
    CHECK(end > first);
    pending += end - first;
  }
  const uint64_t counter = cluster.etcd().counter();
  INFO("etcd counter " << counter << ", ids in the nodes' id-ranges " << held << ", pending adoption " << pending);
  CHECK(counter == held + pending);
  return pending;
}

// ---- StallProxy ----

StallProxy::StallProxy(uint16_t upstream_port) : upstream_port_(upstream_port) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listen_fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(listen_fd_, 64) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  port_ = ntohs(addr.sin_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  REQUIRE(wake_fd_ >= 0);
  thread_ = std::thread([this] { run(); });
}

StallProxy::~StallProxy() {
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) { /* the thread is gone already */ }
  if (thread_.joinable()) thread_.join();
  close(listen_fd_);
  close(wake_fd_);
}

void StallProxy::drop_replies_from(const std::string& marker) {
  std::lock_guard<std::mutex> lock(marker_mu_);
  marker_ = marker;
}

// One thread, poll over every pair: client -> upstream always, upstream -> client unless dropping.
void StallProxy::run() {
  struct Pair {
    int client;
    int upstream;
  };
  std::vector<Pair> pairs;
  const auto close_pair = [](const Pair& p) {
    close(p.client);
    close(p.upstream);
  };
  for (;;) {
    std::vector<pollfd> fds = {{wake_fd_, POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const Pair& p : pairs) {
      fds.push_back({p.client, POLLIN, 0});
      fds.push_back({p.upstream, POLLIN, 0});
    }
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) break;
    const size_t polled = pairs.size();  // a pair accepted below has no pollfd in this round
    if (fds[1].revents & POLLIN) {
      const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client >= 0) {
        const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(upstream_port_);
        if (upstream >= 0 && connect(upstream, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
          pairs.push_back({client, upstream});
        } else {
          close(client);
          if (upstream >= 0) close(upstream);
        }
      }
    }
    std::vector<Pair> open(pairs.begin() + static_cast<std::ptrdiff_t>(polled), pairs.end());
    for (size_t i = 0; i < polled; ++i) {
      const Pair& p = pairs[i];
      bool alive = true;
      char buf[16384];
      for (const bool from_client : {true, false}) {
        const pollfd& f = fds[2 + 2 * i + (from_client ? 0 : 1)];
        if (!alive || f.revents == 0) continue;
        const ssize_t n = recv(from_client ? p.client : p.upstream, buf, sizeof buf, 0);
        if (n > 0 && from_client) {
          std::lock_guard<std::mutex> lock(marker_mu_);
          if (!marker_.empty() && std::string_view(buf, static_cast<size_t>(n)).find(marker_) != std::string_view::npos) {
            dropping_.store(true);
            marker_.clear();
          }
        }
        if (n <= 0) {
          alive = false;
        } else if (!from_client && dropping_.load()) {
          dropped_.fetch_add(static_cast<uint64_t>(n));
        } else {
          alive = send(from_client ? p.upstream : p.client, buf, static_cast<size_t>(n), MSG_NOSIGNAL) == n;
        }
      }
      if (alive) open.push_back(p);
      else close_pair(p);
    }
    pairs = std::move(open);
  }
  for (const Pair& p : pairs) close_pair(p);
}

}  // namespace blackbox::cluster
