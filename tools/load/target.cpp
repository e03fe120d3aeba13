// Target: address resolution (getaddrinfo, numeric or named hosts) and request assembly.
#include "target.h"

#include <netdb.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace busyring::load {
namespace {

constexpr size_t max_body_bytes = 16u << 20;
constexpr size_t max_requests_bytes = 256u << 20;  // all pipeline copies, addressed by uint32

}  // namespace

std::string build_request(Method method, const Url& url, const std::string& body) {
  std::string r = method == Method::post ? "POST " : "GET ";
  r += url.path;
  r += " HTTP/1.1\r\nHost: ";
  r += url.authority;
  r += "\r\n";
  if (method == Method::post) {
    r += "Content-Type: application/json\r\nContent-Length: ";
    r += std::to_string(body.size());
    r += "\r\n\r\n";
    r += body;
  } else {
    r += "\r\n";
  }
  return r;
}

bool load_target(const Options& options, Target* out, std::string* error) {
  Url url;
  if (!parse_url(options.url, &url, error)) return false;
  std::string body;
  if (options.method == Method::post) {
    std::ifstream in(options.body, std::ios::binary);
    if (!in) {
      *error = "cannot read body file " + options.body + ": " + std::strerror(errno) +
               " (pass --body FILE)";
      return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    body = text.str();
    if (body.size() > max_body_bytes) {
      *error = "body file " + options.body + " is over 16 MiB";
      return false;
    }
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &found);
  if (rc != 0) {
    *error = "cannot resolve " + url.host + ": " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&out->addr, found->ai_addr, found->ai_addrlen);
  out->addr_len = found->ai_addrlen;
  freeaddrinfo(found);

  const std::string one = build_request(options.method, url, body);
  if (one.size() * options.pipeline > max_requests_bytes) {
    *error = "request size times --pipeline is over 256 MiB";
    return false;
  }
  out->request_bytes = static_cast<uint32_t>(one.size());
  out->requests.clear();
  out->requests.reserve(one.size() * options.pipeline);
  for (uint32_t i = 0; i < options.pipeline; i++) out->requests += one;
  out->expect_code = options.method == Method::post ? 201 : 200;
  return true;
}

}  // namespace busyring::load
