// busyring-load's address walk (issue 14): every resolved address is tried in order, as curl
// does, and the first that accepts a connection is kept ("localhost" may resolve to ::1 first
// while the server listens on 127.0.0.1 only). Real loopback sockets: one listening, one port
// known to refuse.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "../../../tools/load/target.h"

using namespace busyring::load;

namespace {

// A loopback socket bound to a free port; listening or not (then a connect is refused).
class LoopbackPort {
 public:
  LoopbackPort(int family, bool listening) : family_(family) {
    fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    Address a = address(0);
    REQUIRE(::bind(fd_, reinterpret_cast<const sockaddr*>(&a.addr), a.addr_len) == 0);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    port_ = family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port)
                              : ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    if (listening) REQUIRE(::listen(fd_, 16) == 0);
  }
  ~LoopbackPort() { ::close(fd_); }
  Address address() const { return address(port_); }

 private:
  Address address(uint16_t port) const {
    Address a;
    if (family_ == AF_INET) {
      auto* in = reinterpret_cast<sockaddr_in*>(&a.addr);
      in->sin_family = AF_INET;
      in->sin_port = htons(port);
      in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.addr_len = sizeof(sockaddr_in);
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(port);
      in6->sin6_addr = in6addr_loopback;
      a.addr_len = sizeof(sockaddr_in6);
    }
    return a;
  }
  int family_;
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace

TEST_CASE("busyring-load keeps the first address that accepts, as curl does", "[load]") {
  const LoopbackPort refuses(AF_INET, false);  // bound, not listening: a connect is refused
  const LoopbackPort serves(AF_INET, true);
  std::string error;
  CHECK(first_reachable({serves.address()}, 1000, &error) == 0);
  CHECK(first_reachable({refuses.address(), serves.address()}, 1000, &error) == 1);
  CHECK(first_reachable({serves.address(), refuses.address()}, 1000, &error) == 0);

  // ::1 first and refused, then IPv4: what "localhost" gives where the server is IPv4 only.
  const LoopbackPort refuses6(AF_INET6, false);
  CHECK(first_reachable({refuses6.address(), serves.address()}, 1000, &error) == 1);
}

TEST_CASE("busyring-load names every address it tried when none answers", "[load]") {
  const LoopbackPort a(AF_INET, false);
  const LoopbackPort b(AF_INET6, false);
  std::string error;
  REQUIRE(first_reachable({a.address(), b.address()}, 1000, &error) == -1);
  CHECK(error.find("127.0.0.1 (Connection refused)") != std::string::npos);
  CHECK(error.find("[::1] (Connection refused)") != std::string::npos);
  REQUIRE(first_reachable({}, 1000, &error) == -1);
  CHECK(error.find("none resolved") != std::string::npos);
}
