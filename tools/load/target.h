// What every connection sends and where: the resolved server address and the request bytes,
// built once at start (one request repeated `pipeline` times, so a burst of k pipelined
// requests is a single send of the first k copies, with no copying per request).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

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

// Resolves the URL, reads the body file (POST) and builds the requests; false and one line
// in *error if it cannot (startup error).
[[nodiscard]] bool load_target(const Options& options, Target* out, std::string* error);

}  // namespace busyring::load
