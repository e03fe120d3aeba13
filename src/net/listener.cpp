// SO_REUSEPORT listeners; TCP_NODELAY is set on the listener, and accepted sockets inherit it.
#include "busyring/net/listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace busyring::net {
namespace {

// SO_REUSEPORT would let us silently share a port with another server of the same user, so
// the port is first bound once without it: EADDRINUSE then means someone else has it.
int probe_port_free(const sockaddr_in& addr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const int rc = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 ? 0 : -errno;
  close(fd);
  return rc;
}

int open_one(const sockaddr_in& addr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 4096) != 0) {
    const int rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

}  // namespace

base::Result<Listeners> open_listeners(const std::string& bind_addr, uint16_t port, uint32_t count) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, bind_addr.c_str(), &addr.sin_addr) != 1)
    return base::Error{"--bind: '" + bind_addr + "' is not an IPv4 address"};
  Listeners out;
  for (uint32_t i = 0; i < count; ++i) {
    const int fd = (i == 0 && port != 0 && probe_port_free(addr) == -EADDRINUSE) ? -EADDRINUSE
                                                                                  : open_one(addr);
    if (fd < 0) {
      for (const int f : out.fds) close(f);
      const std::string where = bind_addr + ":" + std::to_string(ntohs(addr.sin_port));
      if (fd == -EADDRINUSE)
        return base::Error{"port in use: " + where +
                           " (stop the other server or choose another --port)"};
      return base::Error{"cannot listen on " + where + ": " + std::strerror(-fd)};
    }
    if (i == 0) {
      sockaddr_in bound{};
      socklen_t len = sizeof bound;
      getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
      addr.sin_port = bound.sin_port;
      out.port = ntohs(bound.sin_port);
    }
    out.fds.push_back(fd);
  }
  return out;
}

}  // namespace busyring::net
