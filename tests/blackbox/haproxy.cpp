// The cluster tests' HAProxy; see haproxy.h.
#include "haproxy.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "cluster_helpers.h"
#include "harness.h"
#include "load_driver.h"

namespace blackbox::cluster {
namespace {

// The raw answer of `show stat` on the runtime socket ("" when it did not answer).
std::string ask_show_stat(const std::string& socket_path) {
  std::string raw;
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return raw;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
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
  return raw;
}

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
  return f;
}

}  // namespace

std::string haproxy_config(const std::vector<uint16_t>& node_ports) {
  // The committed config, with these server lines between the marker lines (the markers'
  // names also appear in its header comment, not alone on a line).
  const std::string committed = read_text_file(kHaproxyCfg);
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

bool Haproxy::start(const std::string& dir, const std::vector<uint16_t>& node_ports, const std::string& check_inter) {
  front_port_ = free_loopback_port();
  socket_path_ = dir + "/haproxy.sock";
  const std::string path = dir + "/haproxy.cfg";
  std::ofstream(path, std::ios::trunc) << haproxy_config(node_ports);
  // The environment the committed config reads; the child inherits it at fork.
  ScopedEnv front("BUSYRING_FRONT", "127.0.0.1:" + std::to_string(front_port_));
  ScopedEnv inter("BUSYRING_CHECK_INTER", check_inter);
  ScopedEnv threads("BUSYRING_HAPROXY_THREADS", "1");
  ScopedEnv socket_env("BUSYRING_HAPROXY_SOCKET", socket_path_);
  unlink(socket_path_.c_str());
  process_ = std::make_unique<Program>(std::vector<std::string>{program_path("haproxy"), "-db", "-f", path});
  // Up once its runtime socket answers (the front is bound before the socket is); a front
  // port lost to a race ends it at once.
  const auto alive = [&] { return process_->wait_exit(0).timed_out; };
  return wait_until([&] { return !alive() || !show_stat().empty(); }, kServerStartMs) && alive();
}

std::map<std::string, ServerStat> Haproxy::show_stat() const {
  std::map<std::string, ServerStat> out;
  // "# pxname,svname,...": columns found by name.
  std::stringstream lines(ask_show_stat(socket_path_));
  std::vector<std::string> columns;
  const auto column = [&](const std::vector<std::string>& row, const std::string& name) -> std::string {
    const auto it = std::find(columns.begin(), columns.end(), name);
    const auto i = static_cast<size_t>(it - columns.begin());
    return it == columns.end() || i >= row.size() ? "" : row[i];
  };
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# ", 0) == 0) {
      columns = split_csv(line.substr(2));
      continue;
    }
    const auto row = split_csv(line);
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

}  // namespace blackbox::cluster
