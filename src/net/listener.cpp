// SO_REUSEPORT listeners, IPv4 or dual-stack IPv6; TCP_NODELAY is set on the listener, and
// accepted sockets inherit it.
#include "busyring/net/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/ip_address.h"
#include "busyring/base/log.h"

namespace busyring::net {
namespace {

constexpr int kListenBacklog = 4096;

int new_socket(int family) {
  const int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // Dual stack whatever net.ipv6.bindv6only says: "::" takes IPv4 clients too (as ::ffff:a.b.c.d).
  if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) {
    const int rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

// SO_REUSEPORT would let us silently share a port with another server of the same user, so
// the port is first bound once without it: EADDRINUSE then means someone else has it (on a
// dual-stack socket, in either family).
int probe_port_free(const base::IpAddress& addr) {
  const int fd = new_socket(addr.family);
  if (fd < 0) return fd;
  const int rc = bind(fd, reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) == 0 ? 0 : -errno;
  close(fd);
  return rc;
}

int open_one(const base::IpAddress& addr) {
  const int fd = new_socket(addr.family);
  if (fd < 0) return fd;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) != 0) {
    const int rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  return bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                                     : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
}

// -errno of the first failure; Listeners filled on success.
int open_all(base::IpAddress addr, uint16_t port, uint32_t count, Listeners& out) {
  addr = base::with_port(addr, port);
  for (uint32_t i = 0; i < count; ++i) {
    int fd = (i == 0 && port != 0) ? probe_port_free(addr) : 0;
    if (fd == 0) fd = open_one(addr);
    if (fd < 0) {
      for (const int f : out.fds) close(f);
      out.fds.clear();
      return fd;
    }
    if (i == 0) {
      port = bound_port(fd);
      addr = base::with_port(addr, port);
      out.port = port;
      out.where = base::host_port(addr, port);
    }
    out.fds.push_back(fd);
  }
  return 0;
}

// What a kernel without IPv6 answers: no AF_INET6 sockets at all, or no address to bind "::" to.
bool ipv6_unavailable(int rc) { return rc == -EAFNOSUPPORT || rc == -EADDRNOTAVAIL || rc == -EPROTONOSUPPORT; }

}  // namespace

base::Result<Listeners> open_listeners(const std::string& bind_addr, uint16_t port, uint32_t count,
                                       bool ipv4_fallback) {
  base::IpAddress addr;
  if (!base::parse_ip_address(bind_addr, addr))
    return base::Error{"--bind: '" + bind_addr + "' is not a numeric IPv4 or IPv6 address"};
  Listeners out;
  int rc = open_all(addr, port, count, out);
  if (rc < 0 && ipv4_fallback && base::is_ipv6_any(addr) && ipv6_unavailable(rc)) {
    // Not "listening on": scripts wait for that line as the sign that the server accepts.
    BR_LOG_WARN("IPv6 is not available here (%s): serving IPv4 only, on 0.0.0.0", std::strerror(-rc));
    (void)base::parse_ip_address("0.0.0.0", addr);
    rc = open_all(addr, port, count, out);
  }
  if (rc < 0) {
    const std::string where = base::host_port(addr, port);
    if (rc == -EADDRINUSE)
      return base::Error{"port in use: " + where + " (stop the other server or choose another --port)"};
    const bool no_ipv6 = addr.family == AF_INET6 && ipv6_unavailable(rc);
    return base::Error{"cannot listen on " + where + ": " + std::strerror(-rc) +
                       (no_ipv6 ? " (IPv6 is not available here: --bind an IPv4 address such as 0.0.0.0)" : "")};
  }
  return out;
}

base::Status start_listening(const Listeners& listeners) {
  for (const int fd : listeners.fds) {
    if (listen(fd, kListenBacklog) == 0) continue;
    // Bound but not listening, our sockets let another SO_REUSEADDR socket bind the same port:
    // one that listened first has it now.
    if (errno == EADDRINUSE)
      return base::Error{"port in use: " + listeners.where +
                         " (another server took it while recovery ran; stop it or choose another --port)"};
    return base::Error{"cannot listen on " + listeners.where + ": " + std::strerror(errno)};
  }
  return base::ok_status();
}

}  // namespace busyring::net
