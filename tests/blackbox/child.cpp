// Child: fork/exec and pidfd waits for every process the black-box tests start.
#include "child.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include <catch2/catch.hpp>

#include "harness.h"

namespace blackbox {

std::string describe(const ExitStatus& s) {
  if (s.timed_out) return "did not exit in time (killed)";
  if (s.exited) return "exit status " + std::to_string(s.code);
  return "killed by signal " + std::to_string(s.signal);
}

Child::Child(std::vector<std::string> argv, int stdin_fd, int stdout_fd, int stderr_fd) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(stdin_fd, 0);
    dup2(stdout_fd, 1);
    dup2(stderr_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  pid_ = pid;
  // Debian 12's <sys/pidfd.h> lacks extern "C", so the raw system call.
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  REQUIRE(pidfd_ >= 0);
}

Child::~Child() {
  kill_now();
  if (pidfd_ >= 0) close(pidfd_);
}

void Child::kill_now() {
  if (reaped_ || pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int st = 0;
  while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

ExitStatus Child::wait_exit(int timeout_ms) {
  if (reaped_) return status_;
  pollfd p{pidfd_, POLLIN, 0};
  const int64_t deadline = now_ms() + timeout_ms;
  while (true) {
    const int64_t left = deadline - now_ms();
    const int rc = poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
    if (rc > 0) break;
    if (rc == 0 || (rc < 0 && errno != EINTR)) {
      ExitStatus s;
      s.timed_out = true;
      return s;
    }
  }
  int st = 0;
  while (waitpid(pid_, &st, 0) < 0) {
    if (errno != EINTR) return status_;
  }
  reaped_ = true;
  status_.exited = WIFEXITED(st);
  status_.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  status_.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  return status_;
}

ExitStatus Child::stop(int sig, int timeout_ms) {
  if (reaped_) return status_;
  kill(pid_, sig);
  ExitStatus s = wait_exit(timeout_ms);
  if (!s.timed_out) return s;
  kill(pid_, SIGKILL);
  s = wait_exit(60'000);
  s.timed_out = true;
  return s;
}

}  // namespace blackbox
