// One HTTP exchange over IPv4 or IPv6 for the first-contact tests: the harness's Client speaks
// to 127.0.0.1 only, these reach any numeric address ("::1", "127.0.0.1") or every address a
// name resolves to ("localhost"), as curl would. Blocking sockets with a deadline; no sleeps.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace blackbox {

struct Exchange {
  int status = 0;       // 0: no HTTP answer (see error)
  std::string body;     // what followed the head, read to EOF (the request says Connection: close)
  std::string error;    // connect or read failure
};

// Sends `request` (it should carry "Connection: close") to host:port and reads the answer.
Exchange exchange_at(const std::string& numeric_host, uint16_t port, const std::string& request,
                     int timeout_ms = 10'000);

// The numeric addresses `name` resolves to, in getaddrinfo's order ("localhost" -> "::1",
// "127.0.0.1", or only one of them, as /etc/hosts says).
std::vector<std::string> resolve_all(const std::string& name);

// A POST /api/usages of body with the given Content-Type header line ("" for none).
std::string post_with_type(const std::string& body, const std::string& content_type);

}  // namespace blackbox
