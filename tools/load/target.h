// What every connection sends and where: the resolved server address and the request bytes,
// built once at start (one request repeated `pipeline` times, so a burst of k pipelined
// requests is a single send of the first k copies, with no copying per request).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "options.h"

namespace busyring::load {

struct Target {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string requests;        // `pipeline` copies of one request, back to back
  uint32_t request_bytes = 0;  // size of one copy
  uint16_t expect_code = 201;  // the status that counts as success
};

// The request one connection sends, for a given method, URL and body.
[[nodiscard]] std::string build_request(Method method, const Url& url, const std::string& body);

struct Address {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
};

// Tries each address in order, as curl does ("localhost" may be ::1 first while a server
// listens on 127.0.0.1 only): a blocking connect of at most timeout_ms each. Returns the index
// of the first that accepts, or -1 with *error naming each address and why it failed.
[[nodiscard]] int first_reachable(const std::vector<Address>& addresses, int timeout_ms, std::string* error);

// Resolves the URL, keeps the first of its addresses that accepts a connection, reads the body
// file (POST) and builds the requests; false and one line in *error if it cannot (startup
// error: no address of the host answers).
[[nodiscard]] bool load_target(const Options& options, Target* out, std::string* error);

}  // namespace busyring::load
