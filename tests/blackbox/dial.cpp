// Raw exchanges over any address family; see dial.h.
#include "dial.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "harness.h"

namespace blackbox {

Exchange exchange_at(const std::string& numeric_host, uint16_t port, const std::string& request, int timeout_ms) {
  Exchange x;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(numeric_host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    x.error = std::string("getaddrinfo: ") + gai_strerror(rc);
    return x;
  }
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool connected = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  freeaddrinfo(found);
  if (!connected) {
    x.error = std::string("connect: ") + std::strerror(errno);
    if (fd >= 0) close(fd);
    return x;
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string in;
  const int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int64_t left = deadline - now_ms();
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) {
      x.error = "no answer within the deadline";
      break;
    }
    char buf[4096];
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // EOF (Connection: close) or a reset
    in.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t head_end = in.find("\r\n\r\n");
  if (in.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) {
    if (x.error.empty()) x.error = "no HTTP answer: '" + in + "'";
    return x;
  }
  x.status = std::atoi(in.c_str() + 9);
  x.body = in.substr(head_end + 4);
  return x;
}

std::vector<std::string> resolve_all(const std::string& name) {
  std::vector<std::string> out;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &found) != 0) return out;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    char host[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) == 0)
      out.emplace_back(host);
  }
  freeaddrinfo(found);
  return out;
}

std::string post_with_type(const std::string& body, const std::string& content_type) {
  std::string r = "POST /api/usages HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!content_type.empty()) r += "Content-Type: " + content_type + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return r;
}

}  // namespace blackbox
