// Program (any executable as a Child, output collected by a reader thread), http_get (raw
// socket, Connection: close, chunked or not) and free_loopback_port.
#include "program.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <catch2/catch.hpp>

namespace blackbox {

Program::Program(std::vector<std::string> argv, const std::string& stdin_path) {
  const int in_fd = open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(in_fd >= 0);
  int out_pipe[2];
  REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
  child_ = std::make_unique<Child>(std::move(argv), in_fd, out_pipe[1], out_pipe[1]);  // 2>&1
  close(in_fd);
  close(out_pipe[1]);
  out_fd_ = out_pipe[0];
  reader_ = std::thread([this] { read_loop(); });
}

Program::~Program() {
  child_->kill_now();
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
}

void Program::read_loop() {
  char buf[4096];
  while (true) {
    const ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (n <= 0) {
      eof_ = true;
      cv_.notify_all();
      return;
    }
    out_.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
}

bool Program::wait_output(std::string_view needle, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  cv_.wait_until(lock, deadline, [&] { return out_.find(needle) != std::string::npos || eof_; });
  return out_.find(needle) != std::string::npos;
}

ExitStatus Program::joined(ExitStatus s) {
  if (!child_->running() && reader_.joinable()) reader_.join();  // the pipe is at EOF now
  return s;
}

ExitStatus Program::wait_exit(int timeout_ms) { return joined(child_->wait_exit(timeout_ms)); }

ExitStatus Program::stop(int sig, int timeout_ms) { return joined(child_->stop(sig, timeout_ms)); }

std::string Program::output() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_;
}

namespace {

bool ieq_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char a = (s[i] >= 'A' && s[i] <= 'Z') ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (a != prefix[i]) return false;
  }
  return true;
}

// RFC 9112 7.1: hex size [;ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF.
bool dechunk(std::string_view in, std::string* out) {
  out->clear();
  while (true) {
    const size_t eol = in.find("\r\n");
    if (eol == std::string_view::npos) return false;
    char* end = nullptr;
    const std::string size_text(in.substr(0, eol));
    const unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
    if (end == size_text.c_str()) return false;
    in.remove_prefix(eol + 2);
    if (size == 0) return true;
    if (in.size() < size + 2) return false;
    out->append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

}  // namespace

std::optional<HttpReply> http_get(uint16_t port, std::string_view target, int timeout_ms,
                                  std::string* error) {
  const int64_t deadline = now_ms() + timeout_ms;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return std::nullopt;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    *error = std::string("connect: ") + std::strerror(errno);
    close(fd);
    return std::nullopt;
  }
  const std::string request = "GET " + std::string(target) +
                              " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    *error = "send: short or failed";
    close(fd);
    return std::nullopt;
  }
  std::string raw;
  char buf[16384];
  while (true) {
    const int64_t left = deadline - now_ms();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) == 0) {
      *error = "timed out; got so far: " + raw;
      close(fd);
      return std::nullopt;
    }
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) {
    *error = "unparsable reply: " + raw;
    return std::nullopt;
  }
  HttpReply reply;
  reply.status = std::atoi(raw.c_str() + 9);
  bool chunked = false;
  size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    const size_t end = raw.find("\r\n", pos);
    const std::string_view line(raw.data() + pos, end - pos);
    if (ieq_prefix(line, "transfer-encoding:") && line.find("chunked") != std::string_view::npos)
      chunked = true;
    pos = end + 2;
  }
  const std::string_view body(raw.data() + head_end + 4, raw.size() - head_end - 4);
  if (!chunked) {
    reply.body = std::string(body);
  } else if (!dechunk(body, &reply.body)) {
    *error = "bad chunked body: " + raw;
    return std::nullopt;
  }
  return reply;
}

uint16_t free_loopback_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string tail(const std::string& text, size_t max_bytes) {
  return text.size() <= max_bytes ? text : "..." + text.substr(text.size() - max_bytes);
}

}  // namespace blackbox
