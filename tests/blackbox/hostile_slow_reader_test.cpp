// A client that pipelines POSTs as fast as the socket takes them and never reads an answer.
// The server must stop reading it (its answers back up, its pipeline fills, and then nothing
// more is taken from its socket: the client's writes stall with far less sent than offered),
// keep its own memory bounded while doing so (VmRSS stays within kRssBoundKib of the baseline),
// keep serving a bystander on another connection, and close the stalled connection at
// --idle-timeout (no progress: no bytes in, no send completed).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "harness.h"
#include "hostile.h"

using namespace blackbox;

namespace {

constexpr int kIdleTimeoutMs = 2'000;
constexpr size_t kOfferBytes = 64u << 20;   // what the client tries to send: 64 MiB
constexpr uint64_t kRssBoundKib = 16 * 1024; // the server's growth while it is attacked
constexpr int kStallMs = 1'000;              // no write progress for this long: stalled

}  // namespace

TEST_CASE("a client that pipelines but never reads is no longer read, memory stays bounded, "
          "others are served, and it is closed at --idle-timeout",
          "[blackbox][hostile]") {
  TestServer s({"--idle-timeout", std::to_string(kIdleTimeoutMs) + "ms", "--ack", "written"});
  Bystander bystander(s.port());
  for (int i = 0; i < 4; ++i) bystander.post();  // warm both shards' paths
  const uint64_t rss_base = vm_rss_kib(s.server->pid());
  REQUIRE(rss_base > 0);

  // 100 pipelined POSTs per block, sent again and again.
  std::string block;
  for (int i = 0; i < 100; ++i) block += post_request(usage_body("unread-" + std::to_string(i)));

  const int fd = connect_nonblocking(s.port());
  REQUIRE(fd >= 0);
  {
    pollfd p{fd, POLLOUT, 0};
    REQUIRE(poll(&p, 1, 5'000) == 1);  // connected
  }
  size_t sent = 0, block_off = 0;
  uint64_t rss_max = rss_base;
  int64_t last_progress = now_ms();
  const int64_t start = now_ms();
  bool stalled = false;
  std::string send_error;
  while (sent < kOfferBytes && now_ms() - start < 30'000) {
    const ssize_t n = ::send(fd, block.data() + block_off, block.size() - block_off, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      block_off = (block_off + static_cast<size_t>(n)) % block.size();
      last_progress = now_ms();
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      send_error = std::string(std::strerror(errno)) + " after " + std::to_string(sent) + " bytes, " +
                   std::to_string(now_ms() - start) + " ms";
      break;
    }
    rss_max = std::max(rss_max, vm_rss_kib(s.server->pid()));
    if (now_ms() - last_progress >= kStallMs) {
      stalled = true;
      break;
    }
    bystander.post();  // served while the other connection floods
    pollfd p{fd, POLLOUT, 0};
    poll(&p, 1, 100);
  }
  const int64_t stalled_at = now_ms();
  INFO("offered " << sent << " bytes before the writes stopped");
  // Backpressure, not a reset: the server stops reading and the client's writes stall.
  INFO("the server dropped the connection instead: " << send_error);
  CHECK(send_error.empty());
  CHECK(stalled);
  CHECK(sent < kOfferBytes / 4);
  // Stalled: the server answers nothing more for it, yet serves others, in bounded memory.
  const std::string m1 = metrics_on(bystander.client());
  const double written1 = metric_value(m1, "busyring_records_written_total").value_or(-1);
  const uint64_t requests_sent = sent / (block.size() / 100);
  INFO("records written " << written1 << " of about " << requests_sent << " requests sent");
  CHECK(written1 < static_cast<double>(requests_sent));
  bool closed = !send_error.empty();
  int64_t closed_at = closed ? stalled_at : 0;
  while (!closed && now_ms() - stalled_at < kIdleTimeoutMs + 5'000) {
    bystander.post();
    rss_max = std::max(rss_max, vm_rss_kib(s.server->pid()));
    pollfd p{fd, POLLOUT, 0};  // POLLHUP / POLLERR once the server has closed (reset) it
    if (poll(&p, 1, 100) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0) {
      closed = true;
      closed_at = now_ms();
      break;
    }
  }
  close(fd);
  std::printf("slow reader: %zu bytes offered before the writes stopped, server VmRSS %llu KiB -> max %llu KiB "
              "(+%llu KiB, bound %llu)\n",
              sent, static_cast<unsigned long long>(rss_base), static_cast<unsigned long long>(rss_max),
              static_cast<unsigned long long>(rss_max - rss_base), static_cast<unsigned long long>(kRssBoundKib));
  CHECK(rss_max - rss_base < kRssBoundKib);
  CHECK(closed);
  // Closed at the idle timeout counted from the server's last progress on it (its last read or
  // completed send), which lies between the client's first write and its stall.
  CHECK(closed_at - start >= kIdleTimeoutMs - 100);
  CHECK(closed_at - stalled_at <= kIdleTimeoutMs + 1'000);
  const std::string m2 = metrics_on(bystander.client());
  CHECK(metric_value(m2, "busyring_connections_open").value_or(-1) == 1);  // only the bystander
  bystander.post();
}

// The other side of the same backpressure: a client that pipelines megabytes but does read is
// slowed down (read no further while its pipeline is full), never dropped, and gets every answer.
TEST_CASE("a client pipelining 20000 POSTs (2.8 MB) while reading gets all 20000 answers",
          "[blackbox][hostile]") {
  constexpr int kRequests = 20'000;
  TestServer s({"--ack", "written"});
  Bystander bystander(s.port());
  const std::string one = post_request(R"({"patientId":"1","timestamp":"t","medication":"m"})");
  std::string all;
  all.reserve(one.size() * kRequests);
  for (int i = 0; i < kRequests; ++i) all += one;
  const int fd = connect_nonblocking(s.port());
  REQUIRE(fd >= 0);
  const size_t to_send = all.size();
  size_t sent = 0;
  int answers = 0, created = 0;
  std::string in, end;
  const int64_t start = now_ms();
  while (answers < kRequests && now_ms() - start < 30'000) {
    pollfd p{fd, static_cast<short>(POLLIN | (sent < to_send ? POLLOUT : 0)), 0};
    if (poll(&p, 1, 1'000) <= 0) continue;
    if ((p.revents & POLLOUT) != 0) {
      const ssize_t n = ::send(fd, all.data() + sent, to_send - sent, MSG_NOSIGNAL);
      if (n > 0) sent += static_cast<size_t>(n);
    }
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[65536];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) {
        end = n == 0 ? "EOF" : std::strerror(errno);
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) break;
        continue;
      }
      in.append(buf, static_cast<size_t>(n));
      // Count complete responses (each ends its body {"id":N} with '}').
      size_t pos;
      while ((pos = in.find("\r\n\r\n")) != std::string::npos) {
        const size_t cl = in.find("Content-Length: ");
        REQUIRE(cl < pos);
        const size_t len = std::stoul(in.substr(cl + 16));
        if (in.size() < pos + 4 + len) break;
        ++answers;
        if (in.compare(0, 12, "HTTP/1.1 201") == 0) ++created;
        in.erase(0, pos + 4 + len);
      }
    }
  }
  close(fd);
  INFO("sent " << sent << " of " << to_send << " bytes; connection ended: " << end);
  CHECK(answers == kRequests);
  CHECK(created == kRequests);
  bystander.post();
}
