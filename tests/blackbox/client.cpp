// The raw-socket HTTP/1.1 client and request/response helpers. Framing is Content-Length only
// (busyring always sends it); 1xx responses have no body. JSON bodies are checked with
// simdjson's DOM parser, so "is JSON" means what a real client's parser would accept.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "harness.h"

namespace blackbox {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool parse_head(std::string_view head, Response& r) {
  const size_t eol = head.find("\r\n");
  const std::string_view status_line = head.substr(0, eol);
  const size_t sp1 = status_line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  const size_t sp2 = status_line.find(' ', sp1 + 1);
  r.version = std::string(status_line.substr(0, sp1));
  const size_t code_len = sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1;
  const std::string code(status_line.substr(sp1 + 1, code_len));
  if (code.size() != 3) return false;
  r.status = std::atoi(code.c_str());
  if (sp2 != std::string_view::npos) r.reason = std::string(status_line.substr(sp2 + 1));
  size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(pos, end - pos);
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    pos = end + 2;
  }
  return true;
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (ieq(k, name)) return v;
  return std::nullopt;
}

Client::Client(uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error_ = std::strerror(errno);
    return;
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    close(fd_);
    fd_ = -1;
  }
}

Client::~Client() {
  if (fd_ >= 0) close(fd_);
}

bool Client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = std::string("send: ") + std::strerror(errno);
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Client::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

void Client::reset() {
  if (fd_ < 0) return;
  const linger lg{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd_);
  fd_ = -1;
}

int Client::fill(int64_t deadline_ms) {
  while (true) {
    const int64_t left = deadline_ms - now_ms();
    if (left <= 0) {
      error_ = "timed out waiting for the server";
      return -1;
    }
    pollfd p{fd_, POLLIN, 0};
    const int rc = poll(&p, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;  // the deadline check above ends it
    char buf[16384];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      error_ = std::string("recv: ") + std::strerror(errno);
      return errno == ECONNRESET ? 0 : -1;
    }
    if (n == 0) {
      error_ = "connection closed by the server";
      return 0;
    }
    buf_.append(buf, static_cast<size_t>(n));
    return 1;
  }
}

std::optional<Response> Client::read_response(int timeout_ms, bool to_head) {
  const int64_t deadline = now_ms() + timeout_ms;
  size_t head_end;
  while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (fill(deadline) <= 0) return std::nullopt;
  }
  Response r;
  if (!parse_head(std::string_view(buf_).substr(0, head_end), r)) {
    error_ = "unparsable response head: " + buf_.substr(0, head_end);
    return std::nullopt;
  }
  size_t body_bytes = 0;
  if (r.status >= 200 && !to_head) {
    const auto cl = r.header("Content-Length");
    if (!cl) {
      error_ = "response without Content-Length";
      return std::nullopt;
    }
    body_bytes = std::stoul(*cl);
  }
  const size_t total = head_end + 4 + body_bytes;
  while (buf_.size() < total) {
    if (fill(deadline) <= 0) return std::nullopt;
  }
  r.body = buf_.substr(head_end + 4, body_bytes);
  buf_.erase(0, total);
  return r;
}

bool Client::closed_by_peer(int timeout_ms) {
  if (!buf_.empty()) {
    error_ = "unexpected bytes: " + buf_;
    return false;
  }
  const int rc = fill(now_ms() + timeout_ms);
  if (rc == 1) error_ = "unexpected bytes: " + buf_;
  return rc == 0;
}

Response roundtrip(Client& c, std::string_view request) {
  INFO("request: " << request);
  REQUIRE(c.connected());
  REQUIRE(c.send(request));
  auto r = c.read_response();
  INFO("client: " << c.last_error());
  REQUIRE(r.has_value());
  return *r;
}

std::string check_error(const Response& r, int status, std::string_view code) {
  INFO("response " << r.status << " body " << r.body);
  CHECK(r.status == status);
  CHECK(r.header("Content-Type").value_or("") == "application/json");
  std::string got, message;
  CHECK(is_error_body(r.body, &got, &message));
  CHECK(got == code);
  return message;
}

std::string usage_body(const std::string& tag) {
  return R"j({"patientId":"100","timestamp":"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)",)j"
         R"j("medication":"Albuterol","tag":")j" +
         tag + "\"}";
}

std::string post_request(std::string_view body, std::string_view extra_headers) {
  std::string r = "POST /api/usages HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n";
  r += extra_headers;
  r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  r += body;
  return r;
}

std::string get_request(std::string_view target, std::string_view extra_headers) {
  std::string r = "GET ";
  r += target;
  r += " HTTP/1.1\r\nHost: localhost\r\n";
  r += extra_headers;
  r += "\r\n";
  return r;
}

uint64_t id_of(const Response& r) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(r.body).get_object().get(obj) != simdjson::SUCCESS || obj.size() != 1) return 0;
  uint64_t id = 0;
  if (obj["id"].get_uint64().get(id) != simdjson::SUCCESS) return 0;
  return id;
}

bool is_error_body(const std::string& body, std::string* code, std::string* message) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(body).get_object().get(obj) != simdjson::SUCCESS) return false;
  std::string_view e, m;
  if (obj["error"].get_string().get(e) != simdjson::SUCCESS) return false;
  if (obj["message"].get_string().get(m) != simdjson::SUCCESS) return false;
  if (e.empty() || m.empty()) return false;
  if (code != nullptr) *code = std::string(e);
  if (message != nullptr) *message = std::string(m);
  return true;
}

}  // namespace blackbox
