// NotifyListener (see notify_listener.h).
#include "notify_listener.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>

#include <catch2/catch.hpp>

namespace blackbox {

NotifyListener::NotifyListener(const TempDir& dir, bool abstract) {
  fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd_ >= 0);
  static int counter = 0;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socklen_t len = 0;
  if (abstract) {
    name_ = "@busyring-test-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
    std::copy(name_.begin() + 1, name_.end(), addr.sun_path + 1);  // sun_path[0] stays NUL
    len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
  } else {
    name_ = dir.sub("notify-" + std::to_string(++counter) + ".sock");
    REQUIRE(name_.size() < sizeof addr.sun_path);
    std::copy(name_.begin(), name_.end(), addr.sun_path);
    len = static_cast<socklen_t>(sizeof addr);
  }
  REQUIRE(bind(fd_, reinterpret_cast<const sockaddr*>(&addr), len) == 0);
}

NotifyListener::~NotifyListener() { close(fd_); }

bool NotifyListener::wait_for(const std::string& needle, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  if (index_of(needle, seen_) != npos) return true;
  while (receive(deadline))
    if (messages_.back().find(needle) != std::string::npos) return true;
  return false;
}

void NotifyListener::collect(int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (receive(deadline)) {
  }
}

size_t NotifyListener::count(const std::string& needle, bool since_mark) const {
  size_t n = 0;
  for (size_t i = since_mark ? seen_ : 0; i < messages_.size(); ++i)
    n += messages_[i].find(needle) != std::string::npos ? 1 : 0;
  return n;
}

size_t NotifyListener::index_of(const std::string& needle, size_t from) const {
  for (size_t i = from; i < messages_.size(); ++i)
    if (messages_[i].find(needle) != std::string::npos) return i;
  return npos;
}

std::string NotifyListener::all() const {
  std::string s;
  for (const auto& m : messages_) s += "[" + m + "]\n";
  return s;
}

bool NotifyListener::receive(int64_t deadline_ms) {
  const int64_t left = deadline_ms - now_ms();
  if (left <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
  char buf[4096];
  const ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n < 0) return false;
  messages_.emplace_back(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace blackbox
