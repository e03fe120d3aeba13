// Numeric IP addresses as --bind takes them: IPv4 ("0.0.0.0", "127.0.0.1") or IPv6 ("::",
// "::1", "[::1]", "fe80::1%eth0"). Names are never resolved here, so parsing does no I/O and a
// bad value is refused at flag-parse time, before anything touches the disk.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace busyring::base {

struct IpAddress {
  sockaddr_storage addr{};  // port 0 until with_port
  socklen_t len = 0;
  int family = AF_UNSPEC;  // AF_INET or AF_INET6 once parsed
};

// False for anything but a numeric IPv4 or IPv6 address (brackets around IPv6 are allowed).
[[nodiscard]] bool parse_ip_address(std::string_view text, IpAddress& out);

// The address with `port` set.
IpAddress with_port(const IpAddress& address, uint16_t port);

// "127.0.0.1:3000", "[::]:3000", "[fe80::1%eth0]:3000": how a URL or a log line writes it.
std::string host_port(const IpAddress& address, uint16_t port);

// True for the wildcard "::" (every IPv6 address, and IPv4 too on a dual-stack socket).
bool is_ipv6_any(const IpAddress& address);

}  // namespace busyring::base
