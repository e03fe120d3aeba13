// Numeric address parsing with getaddrinfo(AI_NUMERICHOST): it reads IPv6 scope ids
// ("%eth0") as well as plain forms, and never queries a resolver; IPv4 must pass inet_pton.
#include "busyring/base/ip_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

namespace busyring::base {

bool parse_ip_address(std::string_view text, IpAddress& out) {
  std::string host(text);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host.find_first_of("[] ") != std::string::npos) return false;
  // IPv4 in the strict dotted-quad form only: getaddrinfo would also take inet_aton's legacy
  // forms ("1.2.3" is 1.2.0.3, "10" is 0.0.0.10), which no operator means.
  in_addr v4{};
  if (host.find(':') == std::string::npos && inet_pton(AF_INET, host.c_str(), &v4) != 1) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0) return false;
  const bool ok = found != nullptr && found->ai_addrlen <= sizeof out.addr &&
                  (found->ai_family == AF_INET || found->ai_family == AF_INET6);
  if (ok) {
    out = IpAddress{};
    std::memcpy(&out.addr, found->ai_addr, found->ai_addrlen);
    out.len = found->ai_addrlen;
    out.family = found->ai_family;
  }
  freeaddrinfo(found);
  return ok;
}

IpAddress with_port(const IpAddress& address, uint16_t port) {
  IpAddress a = address;
  if (a.family == AF_INET) reinterpret_cast<sockaddr_in*>(&a.addr)->sin_port = htons(port);
  if (a.family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&a.addr)->sin6_port = htons(port);
  return a;
}

std::string host_port(const IpAddress& address, uint16_t port) {
  char host[NI_MAXHOST] = "?";
  getnameinfo(reinterpret_cast<const sockaddr*>(&address.addr), address.len, host, sizeof host, nullptr, 0,
              NI_NUMERICHOST);
  const std::string h = address.family == AF_INET6 ? "[" + std::string(host) + "]" : std::string(host);
  return h + ":" + std::to_string(port);
}

bool is_ipv6_any(const IpAddress& address) {
  if (address.family != AF_INET6) return false;
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&address.addr);
  return std::memcmp(&a->sin6_addr, &in6addr_any, sizeof in6addr_any) == 0;
}

}  // namespace busyring::base
