// Loopback test of the load generator's event loop: a Worker against a tiny poll(2) server
// thread that answers every request with 201 {"id":N}. Checks the open-loop rate, reply
// accounting and --ids-out; skipped (with a warning) where io_uring is unavailable.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "busyring/base/clock.h"
#include "../../../tools/load/worker.h"

using namespace busyring::load;

namespace {

// Accepts connections and answers each complete request (all are `request_bytes` long).
class ReplyServer {
 public:
  explicit ReplyServer(size_t request_bytes) : request_bytes_(request_bytes) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    auto* sa = reinterpret_cast<sockaddr*>(&addr);
    REQUIRE(::bind(listen_fd_, sa, len) == 0);
    REQUIRE(::listen(listen_fd_, 64) == 0);
    REQUIRE(::getsockname(listen_fd_, sa, &len) == 0);
    address_ = addr;
    thread_ = std::thread([this] { serve(); });
  }
  ~ReplyServer() {
    stop_.store(true);
    thread_.join();
    ::close(listen_fd_);
  }
  [[nodiscard]] sockaddr_in address() const { return address_; }
  [[nodiscard]] int write_errors() const { return write_errors_.load(); }

 private:
  void serve() {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    std::vector<size_t> pending{0};
    uint64_t next_id = 1;
    char buf[65536];
    while (!stop_.load()) {
      if (::poll(fds.data(), fds.size(), 10) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        fds.push_back({::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC), POLLIN, 0});
        pending.push_back(0);
      }
      for (size_t i = 1; i < fds.size(); i++) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          continue;
        }
        pending[i] += static_cast<size_t>(n);
        std::string out;
        for (; pending[i] >= request_bytes_; pending[i] -= request_bytes_) {
          const std::string body = "{\"id\":" + std::to_string(next_id++) + "}";
          out += "HTTP/1.1 201 Created\r\nContent-Length: " + std::to_string(body.size()) +
                 "\r\n\r\n" + body;
        }
        // Replies are small and the socket buffer empty: a short write would be a test bug.
        if (!out.empty() && ::write(fds[i].fd, out.data(), out.size()) !=
                                static_cast<ssize_t>(out.size())) {
          write_errors_.fetch_add(1);
        }
      }
    }
    for (size_t i = 1; i < fds.size(); i++) {
      if (fds[i].fd >= 0) ::close(fds[i].fd);
    }
  }

  size_t request_bytes_;
  int listen_fd_ = -1;
  sockaddr_in address_{};
  std::atomic<bool> stop_{false};
  std::atomic<int> write_errors_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("a worker keeps the open-loop rate and records every acknowledged id", "[load]") {
  Url url{"127.0.0.1", "0", "/api/usages", "127.0.0.1"};
  Target target;
  const std::string one = build_request(Method::post, url, "{\"patientId\":\"1\"}");
  target.requests = one + one;  // pipeline 2
  target.request_bytes = static_cast<uint32_t>(one.size());
  target.expect_code = 201;
  ReplyServer server(one.size());
  const sockaddr_in addr = server.address();
  std::memcpy(&target.addr, &addr, sizeof addr);
  target.addr_len = sizeof addr;

  char ids_path[] = "/tmp/busyring-load-ids-XXXXXX";
  const int ids_fd = ::mkstemp(ids_path);
  REQUIRE(ids_fd >= 0);
  WorkerPlan plan;
  plan.target = &target;
  plan.connections = 4;
  plan.total_connections = 4;
  plan.rate = 2000;
  plan.pipeline = 2;
  plan.duration_ns = 500'000'000;  // 4 x 250 requests
  plan.timeout_ns = 2'000'000'000;
  plan.batch_ns = 250'000;
  plan.ids_fd = ids_fd;
  Progress progress;
  uint64_t sent = 0;
  {
    Worker worker(plan, &progress);
    const int rc = worker.setup();
    if (rc < 0) {
      WARN("io_uring unavailable here (" << rc << "): worker test skipped");
      ::close(ids_fd);
      ::unlink(ids_path);
      return;
    }
    worker.warm_up();
    worker.run(busyring::base::monotonic_ns());
    const Stats& s = worker.stats();
    REQUIRE(s.error_total() == 0);
    // All 1000 scheduled requests leave unless this thread was starved right at the end
    // (then they are missed, not lost).
    REQUIRE(s.sent + s.missed == 1000);
    REQUIRE(s.sent > 0);
    REQUIRE(s.responses == s.sent);
    REQUIRE(s.ok == s.sent);
    REQUIRE(s.ids == s.sent);
    REQUIRE(worker.histogram().count() == s.sent);
    sent = s.sent;
    REQUIRE(worker.ids_error() == 0);
  }
  REQUIRE(server.write_errors() == 0);
  // Every id the server handed out, once each.
  std::FILE* in = std::fopen(ids_path, "r");
  REQUIRE(in != nullptr);
  std::vector<uint64_t> ids;
  unsigned long long id = 0;
  while (std::fscanf(in, "%llu", &id) == 1) ids.push_back(id);
  std::fclose(in);
  ::close(ids_fd);
  ::unlink(ids_path);
  std::sort(ids.begin(), ids.end());
  REQUIRE(ids.size() == sent);
  for (size_t i = 0; i < ids.size(); i++) REQUIRE(ids[i] == i + 1);
}
