// A command runner with deadlines and a throwaway PostgreSQL cluster; see pg_cluster.h. Every
// wait is bounded (poll with a deadline, pg_ctl -w -t); the destructor asserts nothing.
#include "pg_cluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

extern char** environ;

namespace blackbox {
namespace {

const char* runuser_bin() {
  for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser"}) {
    if (access(p, X_OK) == 0) return p;
  }
  return nullptr;
}

// A non-root user to own the cluster when the test runs as root.
std::string cluster_user() {
  for (const char* name : {"postgres", "nobody"}) {
    if (getpwnam(name) != nullptr) return name;
  }
  return "";
}

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

// A 127.0.0.1 port free right now (the kernel picked it for a socket just closed).
uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  close(fd);
  REQUIRE(ok);
  return ntohs(a.sin_port);
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

std::string PgCluster::unavailable() {
  for (const char* tool : {"initdb", "pg_ctl", "psql", "postgres"}) {
    const std::string path = std::string(kBinDir) + "/" + tool;
    if (access(path.c_str(), X_OK) != 0)
      return path + " is missing (Debian package postgresql-15; `make deps` installs postgresql)";
  }
  if (geteuid() == 0 && cluster_user().empty())
    return "running as root and no 'postgres' or 'nobody' user to own the cluster";
  if (geteuid() == 0 && runuser_bin() == nullptr)
    return "running as root and no runuser to start PostgreSQL as another user";
  return "";
}

PgCluster::PgCluster() {
  const std::string root = dir_.sub("pg");
  REQUIRE(mkdir(root.c_str(), 0700) == 0);
  if (geteuid() == 0) {
    owner_ = cluster_user();
    const passwd* pw = getpwnam(owner_.c_str());
    REQUIRE(pw != nullptr);
    REQUIRE(chmod(dir_.path().c_str(), 0755) == 0);  // the owner must reach its dir
    REQUIRE(chown(root.c_str(), pw->pw_uid, pw->pw_gid) == 0);
  }
  data_ = root + "/data";
  socket_dir_ = root;
  const CommandRun init = as_owner({std::string(kBinDir) + "/initdb", "-D", data_, "-A", "trust", "-U", "postgres",
                                    "-E", "UTF8", "--no-locale", "--no-sync"});
  INFO("initdb" << (owner_.empty() ? "" : " as " + owner_) << ": " << describe(init.status) << "\n"
                << init.out << init.err);
  REQUIRE(init.ok());
  // A port another process takes between free_port() and the bind is retried with another.
  for (int attempt = 0; attempt < 3 && !running_; ++attempt) running_ = start();
  INFO("PostgreSQL's log:\n" << log_text());
  REQUIRE(running_);
}

bool PgCluster::start() {
  port_ = free_port();
  const std::string opts = "-k " + socket_dir_ + " -p " + std::to_string(port_) +
                           " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off";
  const CommandRun r = as_owner({std::string(kBinDir) + "/pg_ctl", "-D", data_, "-l", socket_dir_ + "/log", "-w", "-t",
                                 "30", "-o", opts, "start"},
                                40'000);
  return r.ok();
}

PgCluster::~PgCluster() {
  if (running_)
    (void)as_owner({std::string(kBinDir) + "/pg_ctl", "-D", data_, "-m", "immediate", "-w", "-t", "30", "stop"},
                   40'000);
}

CommandRun PgCluster::as_owner(std::vector<std::string> argv, int timeout_ms) const {
  if (!owner_.empty()) argv.insert(argv.begin(), {runuser_bin(), "-u", owner_, "--"});
  return run_command(argv, {"LC_ALL=C"}, "", timeout_ms, socket_dir_);
}

std::vector<std::string> PgCluster::env() const {
  return {"PGHOST=" + socket_dir_, "PGPORT=" + std::to_string(port_), "PGUSER=postgres", "PGDATABASE=postgres"};
}

CommandRun PgCluster::psql(std::vector<std::string> args, const std::string& input) const {
  args.insert(args.begin(), {psql_bin(), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"});
  return run_command(args, env(), input);
}

std::string PgCluster::log_text() const {
  std::ifstream in(socket_dir_ + "/log");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace blackbox
