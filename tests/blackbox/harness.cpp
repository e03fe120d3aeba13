// ServerProcess, TempDir and start_server: the real binary as a Child (child.h: fork/exec,
// pidfd waits with a deadline, never a sleep) with its stdout and stderr on pipes, and a
// reader thread that keeps collecting both.
#include "harness.h"

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <catch2/catch.hpp>

namespace blackbox {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string server_bin() {
  const char* env = std::getenv("BUSYRING_BIN");
  return env != nullptr && *env != '\0' ? env : "build/release/busyring";
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/busyring-bb-XXXXXX";
  const char* p = mkdtemp(tmpl);
  REQUIRE(p != nullptr);
  path_ = p;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  nftw(
      path_.c_str(),
      [](const char* fpath, const struct stat*, int, FTW*) {
        ::remove(fpath);  // best effort: a destructor asserts nothing
        return 0;
      },
      16, FTW_DEPTH | FTW_PHYS);
}

ServerProcess::ServerProcess(std::vector<std::string> args) {
  const std::string bin = server_bin();
  REQUIRE(access(bin.c_str(), X_OK) == 0);
  args.insert(args.begin(), bin);
  int out_pipe[2], err_pipe[2];
  REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
  child_ = std::make_unique<Child>(std::move(args), 0, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
  reader_ = std::thread([this] { read_loop(); });
}

ServerProcess::~ServerProcess() {
  child_->kill_now();
  if (reader_.joinable()) reader_.join();
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void ServerProcess::read_loop() {
  bool out_open = true, err_open = true;
  char buf[4096];
  while (out_open || err_open) {
    pollfd fds[2] = {{out_open ? out_fd_ : -1, POLLIN, 0}, {err_open ? err_fd_ : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      const ssize_t n = read(i == 0 ? out_fd_ : err_fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(mu_);
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
      } else {
        (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(n));
      }
    }
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  eof_ = true;
  cv_.notify_all();
}

bool ServerProcess::wait_output(std::string_view needle, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  return cv_.wait_until(lock, deadline, [&] { return err_.find(needle) != std::string::npos || eof_; }) &&
         err_.find(needle) != std::string::npos;
}

bool ServerProcess::wait_stderr(std::string_view needle, int timeout_ms) {
  return wait_output(needle, timeout_ms);
}

bool ServerProcess::wait_listening(int timeout_ms) {
  // The whole line: "listening on HOST:PORT\n".
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  size_t line_end = std::string::npos, at = std::string::npos;
  const auto found = [&] {
    at = err_.find("listening on ");
    if (at != std::string::npos) line_end = err_.find('\n', at);
    return (at != std::string::npos && line_end != std::string::npos) || eof_;
  };
  if (!cv_.wait_until(lock, deadline, found) || line_end == std::string::npos) return false;
  const std::string line = err_.substr(at, line_end - at);
  const size_t colon = line.rfind(':');
  if (colon == std::string::npos) return false;
  const long port = std::strtol(line.c_str() + colon + 1, nullptr, 10);
  if (port <= 0 || port > 65535) return false;
  port_ = static_cast<uint16_t>(port);
  return true;
}

ExitStatus ServerProcess::joined(ExitStatus s) {
  if (!child_->running() && reader_.joinable()) reader_.join();  // the pipes are at EOF now
  return s;
}

ExitStatus ServerProcess::wait_exit(int timeout_ms) { return joined(child_->wait_exit(timeout_ms)); }

ExitStatus ServerProcess::stop(int sig, int timeout_ms) { return joined(child_->stop(sig, timeout_ms)); }

ExitStatus ServerProcess::kill9() { return stop(SIGKILL, 60'000); }

std::string ServerProcess::stderr_text() const {
  std::lock_guard<std::mutex> lock(mu_);
  return err_;
}

std::string ServerProcess::stdout_text() const {
  std::lock_guard<std::mutex> lock(mu_);
  return out_;
}

void stop_cleanly(ServerProcess& server, int sig) {
  const ExitStatus st = server.stop(sig);
  INFO(describe(st) << "\n" << server.stderr_text());
  REQUIRE(st.exited);
  REQUIRE(st.code == 0);
}

std::unique_ptr<ServerProcess> start_server(const std::string& data_dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--port", "0", "--data-dir", data_dir, "--threads", "2",
                                   "--segment-size", "1M"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto server = std::make_unique<ServerProcess>(args);
  const bool listening = server->wait_listening();
  INFO("server stderr:\n" << server->stderr_text());
  REQUIRE(listening);
  return server;
}

TestServer::TestServer(std::vector<std::string> extra) : server(start_server(dir.path(), std::move(extra))) {}

}  // namespace blackbox
