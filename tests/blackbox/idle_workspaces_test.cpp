// Issue 6, "an idle connection costs <= 2 KiB of RSS": a connection holds a workspace (parser
// buffers, pipeline entries, output buffer) only while it is busy, and takes one from a
// per-shard pool (at most kMaxWorkspaces) when bytes arrive.
//  - Connections that each posted once and now sit idle on keep-alive cost at most 2 KiB of
//    resident memory each (8.6 KiB when every connection kept its own workspace), and each is
//    served again later (a workspace attached anew, its parser carrying on).
//  - More connections busy at once than a shard has workspaces: the rest wait their turn, and
//    every request is answered 201; none is refused, none is lost.
//  - While connections wait: one that half-closed after its request, and one still open, are
//    answered by a graceful stop; requests not complete when it began are dropped.
//  - Clients that start requests and never finish them (slowloris) cannot hold the pool: while
//    others wait, the oldest unfinished requests get 408 once older than a tenth of
//    --request-timeout, one for each waiter, and the waiting request is answered long before
//    --request-timeout.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "net/workspace.h"
#include "harness.h"
#include "hostile.h"

using namespace blackbox;

namespace {

using Clients = std::vector<std::unique_ptr<Client>>;

// Opens n connections (REQUIREs each).
Clients open_clients(uint16_t port, int n) {
  Clients clients;
  clients.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    clients.push_back(std::make_unique<Client>(port));
    INFO("connection " << i << ": " << clients.back()->last_error());
    REQUIRE(clients.back()->connected());
  }
  return clients;
}

// Each of clients[from, to) posts one usage, `batch` connections at a time (so at most that
// many are busy at once); REQUIREs every 201 and adds each id to ids.
void post_each(Clients& clients, size_t from, size_t to, size_t batch, const std::string& tag,
               std::set<uint64_t>& ids) {
  for (size_t start = from; start < to; start += batch) {
    const size_t end = std::min(to, start + batch);
    for (size_t i = start; i < end; ++i)
      REQUIRE(clients[i]->send(post_request(usage_body(tag + "-" + std::to_string(i)))));
    for (size_t i = start; i < end; ++i) {
      const auto r = clients[i]->read_response();
      INFO("connection " << i << ": " << clients[i]->last_error());
      REQUIRE(r.has_value());
      REQUIRE(r->status == 201);
      ids.insert(id_of(*r));
    }
  }
}

// The local port of a connected client socket.
uint16_t local_port(const Client& c) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(c.fd(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// Waits until the server has read every byte sent so far on each of clients: the receive
// queues of its ends of those connections (in /proc/net/tcp or tcp6) are empty. False at the
// deadline.
bool server_read_all(uint16_t server_port, const std::vector<const Client*>& clients, int timeout_ms = 10'000) {
  std::set<uint16_t> ports;
  for (const Client* c : clients) ports.insert(local_port(*c));
  for (const int64_t deadline = now_ms() + timeout_ms;; poll(nullptr, 0, 2)) {
    const bool last = now_ms() >= deadline;
    size_t seen = 0;
    bool unread = false;
    // The server's sockets are IPv6 ones on the default dual-stack bind (::ffff:127.0.0.1 in
    // /proc/net/tcp6); IPv4 ones with --bind 0.0.0.0.
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
      std::ifstream in(table);
      std::string line;
      std::getline(in, line);  // header
      while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string sl, local, remote, state, queues;
        fields >> sl >> local >> remote >> state >> queues;
        const auto port_of = [](const std::string& addr) {
          return static_cast<uint16_t>(std::stoul(addr.substr(addr.find(':') + 1), nullptr, 16));
        };
        if (port_of(local) != server_port || ports.count(port_of(remote)) == 0) continue;
        ++seen;
        // In CLOSE_WAIT (08) the peer's FIN counts one, until the server reads the end of file.
        const unsigned long unread_bytes = std::stoul(queues.substr(queues.find(':') + 1), nullptr, 16);
        if (unread_bytes == 0 || (state == "08" && unread_bytes == 1)) continue;
        unread = true;
        if (last) std::printf("server_read_all: still unread: %s\n", line.c_str());
      }
    }
    if (seen >= ports.size() && !unread) return true;
    if (last) {
      std::printf("server_read_all: %zu of %zu connections seen\n", seen, ports.size());
      return false;
    }
  }
}

std::vector<const Client*> all_of(const Clients& clients) {
  std::vector<const Client*> v;
  for (const auto& c : clients) v.push_back(c.get());
  return v;
}

// A POST whose head says the body is body.size() bytes, split in two at `split`.
std::pair<std::string, std::string> split_post(const std::string& body, size_t split) {
  const std::string whole = post_request(body);
  const size_t cut = whole.size() - body.size() + split;
  return {whole.substr(0, cut), whole.substr(cut)};
}

}  // namespace

TEST_CASE("idle keep-alive connections that have posted hold no workspace: at most 2 KiB each (issue 6)",
          "[blackbox][issue6]") {
  constexpr int kConnections = 3000;
  constexpr size_t kBatch = 100;
  TestServer s({"--idle-timeout", "300s", "--request-timeout", "300s"});
  std::set<uint64_t> ids;
  {
    // Warm-up: what the first requests of a server touch once (log buffers, the JSON parser,
    // the pool's first workspaces) is not what an idle connection costs.
    Clients warm = open_clients(s.port(), 400);
    post_each(warm, 0, warm.size(), kBatch, "warm", ids);
    for (int round = 0; round < 4; ++round) post_each(warm, 0, warm.size(), warm.size(), "warm", ids);
  }
  for (const int64_t deadline = now_ms() + 10'000; now_ms() < deadline;)
    if (metric_value(metrics_text(s.port()), "busyring_connections_open").value_or(-1) == 1) break;
  const uint64_t rss_base = vm_rss_kib(s.server->pid());
  REQUIRE(rss_base > 0);

  Clients clients = open_clients(s.port(), kConnections);
  post_each(clients, 0, clients.size(), kBatch, "idle", ids);
  const uint64_t rss_idle = vm_rss_kib(s.server->pid());
  const double per_connection = static_cast<double>(rss_idle - rss_base) * 1024.0 / kConnections;
  std::printf("%d connections idle after one POST each: server VmRSS %llu -> %llu KiB, %.0f bytes per "
              "connection\n",
              kConnections, static_cast<unsigned long long>(rss_base), static_cast<unsigned long long>(rss_idle),
              per_connection);
  CHECK(per_connection <= 2048.0);
  // The 3,000 idle connections hold no workspace: at most the /metrics request's own, one per
  // shard (the gauge is mirrored once per loop turn).
  bool given_back = false;
  for (const int64_t deadline = now_ms() + 10'000; now_ms() < deadline && !given_back;)
    given_back = metric_value(metrics_text(s.port()), "busyring_workspaces_in_use").value_or(1e9) <= 2;
  CHECK(given_back);

  // Each is served again: a workspace is attached anew and its parser carries on.
  post_each(clients, 0, clients.size(), kBatch, "again", ids);
  CHECK(ids.size() == 400 + 4 * 400 + 2 * kConnections);  // every id distinct
  CHECK(metric_value(metrics_text(s.port()), "busyring_connections_rejected_total").value_or(-1) == 0);
  clients.clear();
  const ExitStatus st = s.server->stop();
  CHECK(st.exited);
  CHECK(st.code == 0);
}

TEST_CASE("more connections busy at once than a shard has workspaces: all are answered, in turn (issue 6)",
          "[blackbox][issue6]") {
  constexpr int kConnections = static_cast<int>(busyring::net::kMaxWorkspaces) + 476;
  TestServer s({"--threads", "1", "--idle-timeout", "300s", "--request-timeout", "300s"});
  Clients clients = open_clients(s.port(), kConnections);
  // Every connection starts a request and leaves it unfinished, so each keeps a workspace:
  // past the pool's size they must wait.
  std::vector<std::string> rest(clients.size());
  for (size_t i = 0; i < clients.size(); ++i) {
    const std::string body = usage_body("busy-" + std::to_string(i) + "-a");
    auto [head, tail] = split_post(body, body.size() / 2);
    rest[i] = tail + post_request(usage_body("busy-" + std::to_string(i) + "-b"));  // + one pipelined
    REQUIRE(clients[i]->send(head));
  }
  INFO("server stderr:\n" << s.server->stderr_text());
  REQUIRE(s.server->wait_stderr("connection workspaces are busy", 10'000));
  for (size_t i = 0; i < clients.size(); ++i) REQUIRE(clients[i]->send(rest[i]));
  std::set<uint64_t> ids;
  for (size_t i = 0; i < clients.size(); ++i) {
    for (int k = 0; k < 2; ++k) {
      const auto r = clients[i]->read_response(30'000);
      INFO("connection " << i << " answer " << k << ": " << clients[i]->last_error());
      REQUIRE(r.has_value());
      REQUIRE(r->status == 201);
      ids.insert(id_of(*r));
    }
  }
  CHECK(ids.size() == 2 * clients.size());
  CHECK(metric_value(metrics_text(s.port()), "busyring_connections_rejected_total").value_or(-1) == 0);
  // And each, idle again, is served again.
  for (size_t i = 0; i < clients.size(); i += 97) {
    const Response r = roundtrip(*clients[i], post_request(usage_body("again-" + std::to_string(i))));
    CHECK(r.status == 201);
  }
  clients.clear();
  const ExitStatus st = s.server->stop();
  CHECK(st.exited);
  CHECK(st.code == 0);
  CHECK(read_records(s.dir.path()).size() == 2 * static_cast<size_t>(kConnections) + (kConnections + 96) / 97);
}

TEST_CASE("waiting for a workspace: a graceful stop answers the waiting requests, half-closed or not (issue 6)",
          "[blackbox][issue6]") {
  constexpr int kBlockers = static_cast<int>(busyring::net::kMaxWorkspaces) + 76;
  TestServer s({"--threads", "1", "--idle-timeout", "300s", "--request-timeout", "300s"});
  // Blockers: each holds a workspace with a request head whose body never comes.
  Clients blockers = open_clients(s.port(), kBlockers);
  Client half_closed(s.port());
  Client open(s.port());
  Client gone(s.port());
  for (size_t i = 0; i < blockers.size(); ++i) {
    const std::string body = usage_body("blocker-" + std::to_string(i));
    REQUIRE(blockers[i]->send(split_post(body, 0).first));
  }
  // Once the server has them all (1,024 hold a workspace, the rest wait), complete requests
  // come, which wait behind: one half-closes after it, one stays open, one leaves.
  REQUIRE(server_read_all(s.port(), all_of(blockers)));
  INFO("server stderr:\n" << s.server->stderr_text());
  REQUIRE(s.server->wait_stderr("connection workspaces are busy", 10'000));
  REQUIRE(half_closed.send(post_request(usage_body("waiting-half-closed"))));
  half_closed.shutdown_write();
  REQUIRE(open.send(post_request(usage_body("waiting-open"))));
  REQUIRE(gone.send(post_request(usage_body("waiting-gone"))));
  REQUIRE(server_read_all(s.port(), {&half_closed, &open}));
  gone.reset();
  // None is answered while it waits.
  pollfd waiting[2] = {{half_closed.fd(), POLLIN, 0}, {open.fd(), POLLIN, 0}};
  CHECK(poll(waiting, 2, 0) == 0);

  // The stop drops the blockers' unfinished requests, which frees their workspaces, answers
  // the waiting requests and exits 0.
  const ExitStatus st = s.server->stop();
  INFO(describe(st) << "; server stderr:\n" << s.server->stderr_text());
  CHECK(st.exited);
  CHECK(st.code == 0);
  std::set<uint64_t> answered;
  for (Client* c : {&half_closed, &open}) {
    const auto r = c->read_response(5'000);
    INFO(c->last_error());
    REQUIRE(r.has_value());
    CHECK(r->status == 201);
    answered.insert(id_of(*r));
    CHECK(c->closed_by_peer());
  }
  for (auto& b : blockers) CHECK(b->closed_by_peer());
  // Every answered request is on disk; no blocker's is.
  std::set<uint64_t> stored;
  for (const StoredRecord& r : read_records(s.dir.path())) {
    CHECK(r.body.find("blocker-") == std::string::npos);
    stored.insert(r.id);
  }
  for (const uint64_t id : answered) CHECK(stored.count(id) == 1);
}

TEST_CASE("slow requests give way to waiting ones: the pool cannot be held by slowloris (issue 6)",
          "[blackbox][issue6]") {
  constexpr int kBlockers = static_cast<int>(busyring::net::kMaxWorkspaces) + 10;
  // Under pressure a request may take a tenth of --request-timeout: 2 s here.
  TestServer s({"--threads", "1", "--idle-timeout", "300s", "--request-timeout", "20s"});
  Clients blockers = open_clients(s.port(), kBlockers);
  Client waiting(s.port());
  for (size_t i = 0; i < blockers.size(); ++i) {
    const std::string body = usage_body("blocker-" + std::to_string(i));
    REQUIRE(blockers[i]->send(split_post(body, 0).first));
  }
  REQUIRE(server_read_all(s.port(), all_of(blockers)));  // the pool is taken, 10 blockers wait
  const int64_t start = now_ms();
  REQUIRE(waiting.send(post_request(usage_body("waiting"))));
  const auto r = waiting.read_response(10'000);
  const int64_t waited_ms = now_ms() - start;
  INFO(waiting.last_error() << "\nserver stderr:\n" << s.server->stderr_text());
  REQUIRE(r.has_value());
  CHECK(r->status == 201);
  std::printf("a request behind %d unfinished ones was answered in %lld ms (--request-timeout 20s)\n", kBlockers,
              static_cast<long long>(waited_ms));
  CHECK(waited_ms < 10'000);  // not the 20 s of a plain request timeout
  CHECK(s.server->stderr_text().find("connection workspaces are busy") != std::string::npos);
  // Some blockers, the oldest, were timed out with a 408 and closed.
  std::vector<pollfd> answered;
  for (const auto& b : blockers) answered.push_back({b->fd(), POLLIN, 0});
  REQUIRE(poll(answered.data(), answered.size(), 0) > 0);
  size_t timed_out = 0;
  for (size_t i = 0; i < blockers.size(); ++i) {
    if (answered[i].revents == 0) continue;
    const auto r408 = blockers[i]->read_response(5'000);
    INFO("blocker " << i << ": " << blockers[i]->last_error());
    REQUIRE(r408.has_value());
    check_error(*r408, 408, "request_timeout");
    CHECK(blockers[i]->closed_by_peer());
    ++timed_out;
  }
  std::printf("%zu of %d unfinished requests were timed out to make room\n", timed_out, kBlockers);
  CHECK(timed_out >= 1);
  CHECK(timed_out <= 11);  // one for each that waited: 10 blockers and the request above
  blockers.clear();
  const ExitStatus st = s.server->stop();
  CHECK(st.exited);
  CHECK(st.code == 0);
}
