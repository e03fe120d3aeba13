// A command runner with a deadline, extra environment and stdin; see run_command.h. Every wait
// is bounded (poll with a deadline, then SIGKILL to the whole process group).
#include "run_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

extern char** environ;

namespace blackbox {
namespace {

std::vector<std::string> merged_env(const std::vector<std::string>& extra) {
  std::vector<std::string> out = extra;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('=') + 1);
    bool overridden = false;
    for (const auto& x : extra) overridden = overridden || x.rfind(name, 0) == 0;
    if (!overridden) out.push_back(kv);
  }
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Feeds input and collects both outputs until they close or the deadline passes.
void pump(int in_fd, int out_fd, int err_fd, const std::string& input, int64_t deadline, CommandRun& run) {
  size_t sent = 0;
  int fds[3] = {input.empty() ? -1 : in_fd, out_fd, err_fd};
  if (input.empty()) close(in_fd);
  char buf[65536];
  while ((fds[1] >= 0 || fds[2] >= 0) && now_ms() < deadline) {
    pollfd p[3] = {{fds[0], POLLOUT, 0}, {fds[1], POLLIN, 0}, {fds[2], POLLIN, 0}};
    if (poll(p, 3, static_cast<int>(deadline - now_ms())) <= 0) continue;
    if (fds[0] >= 0 && p[0].revents != 0) {
      const ssize_t n = write(fds[0], input.data() + sent, input.size() - sent);
      if (n > 0) sent += static_cast<size_t>(n);
      if ((n < 0 && errno != EINTR && errno != EAGAIN) || sent == input.size()) {
        close(fds[0]);
        fds[0] = -1;
      }
    }
    for (int i = 1; i < 3; ++i) {
      if (fds[i] < 0 || p[i].revents == 0) continue;
      const ssize_t n = read(fds[i], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        close(fds[i]);
        fds[i] = -1;
      } else {
        (i == 1 ? run.out : run.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (const int fd : fds) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace

CommandRun run_command(const std::vector<std::string>& argv_in, const std::vector<std::string>& env_extra,
                       const std::string& input, int timeout_ms, const std::string& cwd) {
  // Writing to a stdin whose reader has gone must not kill the test; children get SIG_DFL back.
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args = argv_in;
  std::vector<std::string> env = merged_env(env_extra);
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(env);
  int in_pipe[2], out_pipe[2], err_pipe[2];
  REQUIRE(pipe2(in_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  CommandRun run;
  const int64_t deadline = now_ms() + timeout_ms;
  pump(in_pipe[1], out_pipe[0], err_pipe[0], input, deadline, run);
  int st = 0;
  pid_t got = 0;
  while ((got = waitpid(pid, &st, WNOHANG)) == 0 && now_ms() < deadline) poll(nullptr, 0, 5);
  if (got == 0) {
    kill(-pid, SIGKILL);
    run.status.timed_out = true;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  run.status.exited = WIFEXITED(st);
  run.status.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  run.status.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  return run;
}

}  // namespace blackbox
