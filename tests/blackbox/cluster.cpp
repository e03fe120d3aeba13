// Redis, busyring nodes and HAProxy for the cluster tests, the load driver that posts through the
// front, and readers of what busyring-log and the nodes' id-ranges files say; see cluster.h.
// Ports: Redis and the nodes get a free loopback port each (a port lost to a race is retried with
// another at first start); a restart reuses the same port, since HAProxy's config names it.
#include "cluster.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <climits>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <tuple>

#include <catch2/catch.hpp>

#include "pg_cluster.h"

namespace blackbox::cluster {
namespace {

constexpr const char* kRedisConf = "contrib/redis/busyring.conf";
constexpr const char* kHaproxyCfg = "contrib/haproxy/busyring.cfg";
constexpr int kStartMs = 20'000;  // a start on a loaded 2-core box

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The number after `key` in `text` (0 when absent).
uint64_t number_after(const std::string& text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(text.c_str() + at + key.size(), nullptr, 10);
}

void pause_ms(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

// argv[0] for Program, which does no PATH search.
std::string program_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = std::string(path != nullptr ? path : "") + ":/usr/sbin:/usr/bin:/sbin:/bin";
  std::stringstream ss(dirs);
  for (std::string dir; std::getline(ss, dir, ':');) {
    if (dir.empty()) continue;
    const std::string full = dir + "/" + name;
    if (access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

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

// ---- Redis ----

namespace {

constexpr const char* kNodeUser = "busyring";

// A random password of 32 hex digits.
std::string random_password() {
  std::random_device rd;
  char out[33];
  for (int i = 0; i < 4; ++i) std::snprintf(out + i * 8, 9, "%08x", rd());
  return out;
}

void write_secret(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
  REQUIRE(chmod(path.c_str(), 0600) == 0);
}

}  // namespace

void Redis::write_auth_files() {
  admin_password_ = random_password();
  const std::string node_password = random_password();
  char conf_path[PATH_MAX];
  REQUIRE(realpath(kRedisConf, conf_path) != nullptr);
  config_file_ = dir_ + "/redis-auth.conf";
  credentials_file_ = dir_ + "/node-credentials";
  // The node's user may run the id script (EVAL) and, inside it and when a refused counter is
  // set right, GET/SET/DEL/INCRBY/EXISTS on busyring:* keys only.
  write_secret(config_file_, std::string("include ") + conf_path + "\n" +
                                 "user default on >" + admin_password_ + " ~* &* +@all\n" +
                                 "user " + kNodeUser + " on >" + node_password +
                                 " ~busyring:* -@all +eval +get +set +del +incrby +exists +ping\n");
  write_secret(credentials_file_, std::string(kNodeUser) + " " + node_password + "\n");
}

Redis::Redis(std::string dir) : dir_(std::move(dir)) {
  write_auth_files();
  bool up = false;
  for (int attempt = 0; attempt < 3 && !up; ++attempt) {
    port_ = free_loopback_port();
    up = start();
  }
  INFO("redis-server:\n" << tail(output()));
  REQUIRE(up);
  // A new cluster creates its counter once (nodes never create it: a missing counter may be
  // one Redis lost).
  REQUIRE(command({"SET", kKey, "0", "NX"}).has_value());
}

Redis::~Redis() = default;  // Program's destructor SIGKILLs and reaps

bool Redis::start() {
  if (process_) past_output_ += process_->output();
  process_ = std::make_unique<Program>(std::vector<std::string>{
      program_path("redis-server"), config_file_, "--port", std::to_string(port_), "--dir", dir_});
  if (!process_->wait_output("Ready to accept connections", kStartMs)) return false;
  const auto info = command({"INFO", "server"});
  if (!info) return false;
  pid_ = static_cast<pid_t>(number_after(*info, "process_id:"));
  return pid_ > 0;
}

void Redis::restart(const std::string& dir) {
  if (!dir.empty()) dir_ = dir;
  if (process_ && process_->running()) (void)process_->stop(SIGKILL, 10'000);
  const bool up = start();
  INFO("redis-server:\n" << tail(output()));
  REQUIRE(up);
}

ExitStatus Redis::stop(int sig) {
  if (sig == SIGTERM) resume();  // a stopped process would sit on the SIGTERM
  return process_->stop(sig, 15'000);
}

void Redis::pause() { REQUIRE(kill(pid_, SIGSTOP) == 0); }

void Redis::resume() {
  if (process_ && process_->running()) (void)kill(pid_, SIGCONT);
}

std::optional<std::string> Redis::command(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {program_path("redis-cli"), "-h", "127.0.0.1", "-p", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandRun run = run_command(argv, {"REDISCLI_AUTH=" + admin_password_}, "", 5'000);
  if (!run.ok()) return std::nullopt;
  return run.out;
}

uint64_t Redis::counter() const {
  const auto reply = command({"GET", kKey});
  INFO("redis-cli GET failed");
  REQUIRE(reply.has_value());
  return std::strtoull(reply->c_str(), nullptr, 10);
}

std::string Redis::url() const { return "redis://127.0.0.1:" + std::to_string(port_) + "/" + kKey; }

std::vector<std::string> Redis::id_source_args() const {
  return {"--id-source", url(), "--id-source-password-file", credentials_file_};
}

std::string Redis::output() const { return past_output_ + (process_ ? process_->output() : ""); }

// ---- Cluster ----

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
      listening = slot->wait_listening(kStartMs);
    }
    INFO("node " << k << ", every attempt:\n" << tail(past_node_logs_[static_cast<size_t>(k - 1)] + node(k).stderr_text()));
    REQUIRE(listening);
  }
  haproxy_socket_ = dir_.sub("haproxy.sock");
  bool started = false;
  for (int attempt = 0; attempt < 3 && !started; ++attempt) started = try_start_haproxy();
  INFO(logs());
  REQUIRE(started);
  REQUIRE(wait_all_up(kStartMs));
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
  const bool listening = slot->wait_listening(kStartMs);
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

std::string haproxy_config(const std::vector<uint16_t>& node_ports) {
  // The committed config, with these server lines between the marker lines (the markers'
  // names also appear in its header comment, not alone on a line).
  const std::string committed = read_file(kHaproxyCfg);
  std::stringstream in(committed);
  std::string config;
  int markers = 0;
  bool skipping = false;
  for (std::string line; std::getline(in, line);) {
    const size_t text_at = line.find_first_not_of(" \t");
    const std::string text = text_at == std::string::npos ? "" : line.substr(text_at);
    if (text == "# END servers") {
      skipping = false;
      ++markers;
    }
    if (!skipping) config += line + "\n";
    if (text == "# BEGIN servers") {
      skipping = true;
      ++markers;
      for (size_t k = 0; k < node_ports.size(); ++k)
        config += line.substr(0, text_at) + "server node" + std::to_string(k + 1) + " 127.0.0.1:" +
                  std::to_string(node_ports[k]) + "\n";
    }
  }
  INFO(kHaproxyCfg << " needs a line `# BEGIN servers` and a line `# END servers`");
  REQUIRE(markers == 2);
  return config;
}

bool Cluster::try_start_haproxy() {
  front_port_ = free_loopback_port();
  const std::string config = haproxy_config(node_ports_);
  const std::string path = dir_.sub("haproxy.cfg");
  std::ofstream(path, std::ios::trunc) << config;
  // The environment the committed config reads; the child inherits it at fork.
  ScopedEnv front("BUSYRING_FRONT", "127.0.0.1:" + std::to_string(front_port_));
  ScopedEnv inter("BUSYRING_CHECK_INTER", options_.check_inter);
  ScopedEnv threads("BUSYRING_HAPROXY_THREADS", "1");
  ScopedEnv socket_path("BUSYRING_HAPROXY_SOCKET", haproxy_socket_);
  unlink(haproxy_socket_.c_str());
  haproxy_ = std::make_unique<Program>(std::vector<std::string>{program_path("haproxy"), "-db", "-f", path});
  // Up once its runtime socket answers (the front is bound before the socket is); a front
  // port lost to a race ends it at once.
  const auto alive = [&] { return haproxy_->wait_exit(0).timed_out; };
  return wait_until([&] { return !alive() || !show_stat().empty(); }, kStartMs) && alive();
}

std::map<std::string, ServerStat> Cluster::show_stat() const {
  std::map<std::string, ServerStat> out;
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return out;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", haproxy_socket_.c_str());
  std::string raw;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, "show stat\n", 10, MSG_NOSIGNAL) == 10) {
    const int64_t deadline = now_ms() + 5'000;
    char buf[16384];
    while (now_ms() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(std::max<int64_t>(1, deadline - now_ms()))) <= 0) break;
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      raw.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  // "# pxname,svname,...": columns found by name.
  std::stringstream lines(raw);
  std::vector<std::string> columns;
  const auto split = [](const std::string& line) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    return f;
  };
  const auto column = [&](const std::vector<std::string>& row, const std::string& name) -> std::string {
    const auto it = std::find(columns.begin(), columns.end(), name);
    const auto i = static_cast<size_t>(it - columns.begin());
    return it == columns.end() || i >= row.size() ? "" : row[i];
  };
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# ", 0) == 0) {
      columns = split(line.substr(2));
      continue;
    }
    const auto row = split(line);
    if (columns.empty() || row.size() < 2 || row[0] != "busyring_nodes") continue;
    if (row[1] == "BACKEND" || row[1] == "FRONTEND") continue;
    ServerStat s;
    s.status = column(row, "status");
    s.check_status = column(row, "check_status");
    s.selected = std::strtoull(column(row, "lbtot").c_str(), nullptr, 10);
    s.retries = std::strtoull(column(row, "wretr").c_str(), nullptr, 10);
    s.redispatches = std::strtoull(column(row, "wredis").c_str(), nullptr, 10);
    out[row[1]] = s;
  }
  return out;
}

ServerStat Cluster::server(int k) const {
  const auto all = show_stat();
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

// ---- FrontLoad ----

FrontLoad::FrontLoad(uint16_t port, FrontLoadOptions options) : port_(port), options_(std::move(options)) {
  logs_.resize(static_cast<size_t>(options_.connections));
  running_.store(options_.connections);
  for (int i = 0; i < options_.connections; ++i) threads_.emplace_back([this, i] { run(i); });
}

FrontLoad::~FrontLoad() { stop(); }

void FrontLoad::stop() {
  stop_.store(true);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

bool FrontLoad::wait_acked(uint64_t n, int timeout_ms) const {
  return wait_until([&] { return acked() >= n || running_.load() == 0; }, timeout_ms) && acked() >= n;
}

bool FrontLoad::wait_unavailable(uint64_t n, int timeout_ms) const {
  return wait_until([&] { return unavailable() >= n || running_.load() == 0; }, timeout_ms) && unavailable() >= n;
}

bool FrontLoad::wait_done(int timeout_ms) const {
  return wait_until([&] { return running_.load() == 0; }, timeout_ms);
}

void FrontLoad::run(int index) {
  FrontLog& log = logs_[static_cast<size_t>(index)];
  struct Done {
    std::atomic<int>& running;
    ~Done() { running.fetch_sub(1); }
  } done{running_};
  const std::string prefix = options_.tag + "-" + std::to_string(index) + "-";
  std::unique_ptr<Client> c;
  const auto fail = [&](int status, std::string detail) {
    log.errors.push_back(FrontError{now_ms(), status, std::move(detail)});
    errors_.fetch_add(1, std::memory_order_relaxed);
  };
  for (uint64_t seq = 0; !stop_.load(std::memory_order_relaxed);) {
    if (!c) {
      c = std::make_unique<Client>(port_);
      if (!c->connected()) {  // nothing was sent: not an error of a request
        c.reset();
        pause_ms(10);
        continue;
      }
      if (seq > 0) ++log.reconnects;
    }
    if (options_.budget > 0 && sent_.fetch_add(1) >= options_.budget) break;
    const std::string body = usage_body(prefix + std::to_string(seq++));
    if (!c->send(post_request(body))) {
      fail(0, "send: " + c->last_error());
      c.reset();
      continue;
    }
    const auto r = c->read_response(20'000);
    if (!r) {
      fail(0, "read: " + c->last_error());
      c.reset();
      continue;
    }
    if (r->status == 201) {
      log.acked.push_back(Ack{id_of(*r), body, now_ms()});
      acked_.fetch_add(1, std::memory_order_relaxed);
    } else if (r->status == 503) {
      ++log.unavailable;
      if (!r->header("Retry-After")) ++log.unavailable_without_retry_after;
      std::string code = "(not a JSON error)";
      (void)is_error_body(r->body, &code);
      ++log.unavailable_codes[code];
      unavailable_.fetch_add(1, std::memory_order_relaxed);
    } else {
      fail(r->status, r->body);
    }
    const auto connection = r->header("Connection");
    if (connection && connection->find("close") != std::string::npos) c.reset();
    if (r->status == 503 && options_.pause_after_503_ms > 0) pause_ms(options_.pause_after_503_ms);
  }
}

IdBodies FrontLoad::acked_ids() const {
  IdBodies out;
  for (const auto& log : logs_) {
    for (const auto& a : log.acked) {
      INFO("id " << a.id << " was acknowledged twice");
      REQUIRE(a.id != 0);
      REQUIRE(out.emplace(a.id, a.body).second);
    }
  }
  return out;
}

// ---- busyring-log and id-ranges ----

std::string log_bin() {
  const char* env = std::getenv("BUSYRING_LOG_BIN");
  if (env != nullptr && *env != '\0') return env;
  const std::string server = server_bin();
  const size_t slash = server.rfind('/');
  return (slash == std::string::npos ? std::string() : server.substr(0, slash + 1)) + "busyring-log";
}

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

}  // namespace blackbox::cluster
