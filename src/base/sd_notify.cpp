// sd_notify in a few lines (see sd_notify.h): one SOCK_DGRAM socket, opened on first use, and
// one sendto() per message. An abstract address ("@name") is sent with its leading NUL and
// without a trailing one, as systemd binds it.
#include "busyring/base/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "busyring/base/log.h"

namespace busyring::base {
namespace {

struct NotifySocket {
  int fd = -1;
  sockaddr_un addr{};
  socklen_t addr_len = 0;
};

NotifySocket open_notify_socket() noexcept {
  NotifySocket s;
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return s;
  const size_t len = std::strlen(path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof s.addr.sun_path) {
    BR_LOG_WARN("NOTIFY_SOCKET=%s is not a unix socket path or @abstract name; systemd will not hear from us", path);
    return s;
  }
  s.addr.sun_family = AF_UNIX;
  std::memcpy(s.addr.sun_path, path, len);
  if (path[0] == '@') s.addr.sun_path[0] = '\0';
  s.addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (path[0] == '@' ? 0 : 1));
  s.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s.fd < 0) BR_LOG_WARN("cannot open a socket for NOTIFY_SOCKET: %s", std::strerror(errno));
  return s;
}

const NotifySocket& notify_socket() noexcept {
  static const NotifySocket s = open_notify_socket();
  return s;
}

std::atomic<bool> g_failure_logged{false};

}  // namespace

bool notify_enabled() noexcept { return notify_socket().fd >= 0; }

int notify(std::string_view state) noexcept {
  const NotifySocket& s = notify_socket();
  if (s.fd < 0) return -ENOTCONN;
  const ssize_t n = sendto(s.fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&s.addr),
                           s.addr_len);
  if (n >= 0) return 0;
  const int rc = -errno;
  if (!g_failure_logged.exchange(true))
    BR_LOG_WARN("cannot notify systemd through NOTIFY_SOCKET: %s (logged once)", std::strerror(-rc));
  return rc;
}

int notifyf(const char* fmt, ...) noexcept {
  if (!notify_enabled()) return -ENOTCONN;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return -EINVAL;
  return notify({buf, static_cast<size_t>(n) < sizeof buf ? static_cast<size_t>(n) : sizeof buf - 1});
}

uint64_t watchdog_usec() noexcept {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr || usec[0] == '\0') return 0;
  const char* pid = std::getenv("WATCHDOG_PID");
  if (pid != nullptr && pid[0] != '\0') {
    char* end = nullptr;
    const unsigned long long p = std::strtoull(pid, &end, 10);
    if (*end != '\0' || p != static_cast<unsigned long long>(getpid())) return 0;  // meant for another process
  }
  char* end = nullptr;
  const unsigned long long v = std::strtoull(usec, &end, 10);
  return *end == '\0' ? v : 0;
}

}  // namespace busyring::base
