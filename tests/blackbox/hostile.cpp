// Helpers for the hostile-client tests: /metrics samples, resident memory, the bystander,
// rejection checks, and non-blocking sockets with a chosen loopback source address.
#include "hostile.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>

#include <catch2/catch.hpp>

namespace blackbox {

std::string metrics_on(Client& c) {
  const Response r = roundtrip(c, get_request("/metrics"));
  REQUIRE(r.status == 200);
  return r.body;
}

std::string metrics_text(uint16_t port) {
  Client c(port);
  return metrics_on(c);
}

std::optional<double> metric_value(const std::string& text, std::string_view name) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + pos, end - pos);
    if (line.size() > name.size() && line.substr(0, name.size()) == name && line[name.size()] == ' ')
      return std::strtod(std::string(line.substr(name.size() + 1)).c_str(), nullptr);
    pos = end + 1;
  }
  return std::nullopt;
}

double requests_with_status(const std::string& text, int status) {
  const std::string prefix = "busyring_requests_total{";
  const std::string label = "code=\"" + std::to_string(status) + "\"}";
  double sum = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    const size_t at = line.find(label);
    if (line.rfind(prefix, 0) == 0 && at != std::string::npos)
      sum += std::strtod(line.c_str() + at + label.size(), nullptr);
    pos = end + 1;
  }
  return sum;
}

uint64_t vm_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

uint64_t anonymous_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Anonymous:", 0) == 0) return std::strtoull(line.c_str() + 10, nullptr, 10);
  }
  return 0;
}

Bystander::Bystander(uint16_t port) : client_(port) {}

bool Bystander::post() {
  const std::string body = usage_body("bystander-" + std::to_string(created_));
  INFO("bystander: " << client_.last_error());
  REQUIRE(client_.send(post_request(body)));
  const auto r = client_.read_response(10'000);
  INFO("bystander: " << client_.last_error());
  REQUIRE(r.has_value());
  CHECK(r->status == 201);
  if (r->status != 201) return false;
  ++created_;
  return true;
}

void expect_rejected_and_closed(uint16_t port, std::string_view request, int status,
                                std::string_view code, Bystander& bystander) {
  INFO("request: " << request);
  {
    Client c(port);
    REQUIRE(c.connected());
    (void)c.send(request);  // the server may stop reading early; its answer still comes
    const auto r = c.read_response(5'000);
    INFO("client: " << c.last_error());
    REQUIRE(r.has_value());
    check_error(*r, status, code);
    // A kept connection would hold the test for the whole wait: only wait when the status is
    // the expected (closing) one.
    if (r->status == status) CHECK(c.closed_by_peer(3'000));
  }
  bystander.post();
}

void check_only_bystander_records(TestServer& s, const Bystander& bystander, uint64_t others) {
  const ExitStatus st = s.server->stop();
  INFO(describe(st) << "\n" << s.server->stderr_text());
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  const auto records = read_records(s.dir.path());
  CHECK(records.size() == bystander.created() + others);
  for (const auto& rec : records) {
    INFO("record " << rec.id << ": " << rec.body);
    CHECK(rec.body.find("\"bystander-") != std::string::npos);
  }
}

int connect_nonblocking(uint16_t port, const char* source) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source != nullptr) {
    // The port is chosen at connect(), per (source, destination): 28k ports per source address.
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, source, &local.sin_addr) != 1 ||
        bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
      const int e = errno != 0 ? errno : EINVAL;
      close(fd);
      return -e;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    const int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

}  // namespace blackbox
