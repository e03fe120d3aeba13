// Target: address resolution (getaddrinfo, numeric or named hosts, every address tried in
// turn) and request assembly.
#include "target.h"

#include <netdb.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace busyring::load {
namespace {

constexpr size_t max_body_bytes = 16u << 20;
constexpr size_t max_requests_bytes = 256u << 20;  // all pipeline copies, addressed by uint32

// 0 when a connection to the address is made within timeout_ms, else -errno.
int try_connect(const Address& a, int timeout_ms) {
  const int fd = ::socket(a.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.addr_len) == 0 ? 0 : -errno;
  if (rc == -EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    const int ready = ::poll(&p, 1, timeout_ms);
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (ready == 0) {
      rc = -ETIMEDOUT;
    } else if (ready < 0) {
      rc = -errno;
    } else {
      rc = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 ? -so_error : -errno;
    }
  }
  ::close(fd);
  return rc;
}

std::string numeric_host(const Address& a) {
  char host[NI_MAXHOST] = "?";
  ::getnameinfo(reinterpret_cast<const sockaddr*>(&a.addr), a.addr_len, host, sizeof host, nullptr, 0,
                NI_NUMERICHOST);
  return a.addr.ss_family == AF_INET6 ? "[" + std::string(host) + "]" : std::string(host);
}

// --batch K: a JSON array of K copies of one usage (its trailing newline dropped).
std::string batch_of(std::string usage, uint32_t count) {
  while (!usage.empty() && (usage.back() == '\n' || usage.back() == '\r' || usage.back() == ' ')) usage.pop_back();
  std::string body;
  body.reserve((usage.size() + 1) * count + 2);
  body += '[';
  for (uint32_t i = 0; i < count; i++) {
    if (i > 0) body += ',';
    body += usage;
  }
  body += ']';
  return body;
}

}  // namespace

int first_reachable(const std::vector<Address>& addresses, int timeout_ms, std::string* error) {
  std::string tried;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const int rc = try_connect(addresses[i], timeout_ms);
    if (rc == 0) return static_cast<int>(i);
    tried += (tried.empty() ? "" : ", ") + numeric_host(addresses[i]) + " (" + std::strerror(-rc) + ")";
  }
  *error = "no address answers: " + (tried.empty() ? std::string("none resolved") : tried);
  return -1;
}

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
    if (options.batch > 0) body = batch_of(body, options.batch);
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
  std::vector<Address> addresses;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
    Address a;
    std::memcpy(&a.addr, ai->ai_addr, ai->ai_addrlen);
    a.addr_len = ai->ai_addrlen;
    addresses.push_back(a);
  }
  freeaddrinfo(found);
  std::string why;
  const int pick = first_reachable(addresses, static_cast<int>(options.timeout_s * 1000.0), &why);
  if (pick < 0) {
    *error = "cannot connect to " + url.authority + ": " + why;
    return false;
  }
  out->addr = addresses[static_cast<size_t>(pick)].addr;
  out->addr_len = addresses[static_cast<size_t>(pick)].addr_len;

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
