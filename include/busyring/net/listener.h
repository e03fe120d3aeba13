// Listening sockets, one per shard, all bound to the same address with SO_REUSEPORT so the
// kernel spreads connections across shards. With port 0, the first socket picks a free port
// and the others bind that same port. An IPv6 address gets IPV6_V6ONLY=0: "::" (the default
// --bind) serves IPv6 and IPv4 clients on the same sockets.
//
// Bind early, listen late: open_listeners() only binds (so "port in use" is said before the
// data dir is touched and before a long recovery), and start_listening() turns the sockets into
// listeners once recovery is done. Until then a client connecting is refused (RST), rather than
// queued in a backlog that nobody accepts from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/result.h"

namespace busyring::net {

struct Listeners {
  std::vector<int> fds;
  uint16_t port = 0;
  std::string where;  // "[::]:3000" or "127.0.0.1:3000": what "listening on" prints
};

// `bind` is a numeric IPv4 or IPv6 address (checked by the flag parser). With ipv4_fallback,
// a kernel without IPv6 (no AF_INET6 sockets, or "::" not bindable) gets 0.0.0.0 instead, and
// one log line says so.
[[nodiscard]] base::Result<Listeners> open_listeners(const std::string& bind, uint16_t port, uint32_t count,
                                                     bool ipv4_fallback = false);

// listen() on every socket; an error names the address and the fix.
[[nodiscard]] base::Status start_listening(const Listeners& listeners);

}  // namespace busyring::net
