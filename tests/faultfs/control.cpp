// The control socket of busyring-faultfs: a unix stream socket, one command line per
// connection, the reply written back and the connection closed. Commands:
//   cut SEED   the power cut: unflushed pages kept or restored (seeded draw), every later change
//              refused with EIO; the reply says how many pages were kept and dropped, per file
//   resume     the disk works again (the restarted machine)
//   keep P     the chance that an unflushed page survives a cut (0..1, default 0.5)
//   stats      counters: writes, fsyncs, fdatasyncs, O_DIRECT opens, unflushed pages, ...
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "faultfs.h"

namespace faultfs {
namespace {

sockaddr_un address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  return a;
}

bool write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string stats_line(const State& s) {
  const Stats& t = s.stats;
  char line[512];
  std::snprintf(line, sizeof line,
                "writes=%llu write_bytes=%llu dsync_writes=%llu fsyncs=%llu fdatasyncs=%llu dir_fsyncs=%llu "
                "direct_opens=%llu refused=%llu cuts=%llu unflushed_pages=%llu frozen=%d keep=%.3f\n",
                static_cast<unsigned long long>(t.writes), static_cast<unsigned long long>(t.write_bytes),
                static_cast<unsigned long long>(t.dsync_writes), static_cast<unsigned long long>(t.fsyncs),
                static_cast<unsigned long long>(t.fdatasyncs), static_cast<unsigned long long>(t.dir_fsyncs),
                static_cast<unsigned long long>(t.direct_opens), static_cast<unsigned long long>(t.refused),
                static_cast<unsigned long long>(t.cuts),
                static_cast<unsigned long long>(s.journal.unflushed_pages()), s.frozen ? 1 : 0, s.keep);
  return line;
}

}  // namespace

std::string run_command(State& state, const std::string& command) {
  char verb[16] = {};
  char arg[64] = {};
  const int n = std::sscanf(command.c_str(), "%15s %63s", verb, arg);
  std::lock_guard<std::mutex> lock(state.mu);
  if (n >= 1 && std::strcmp(verb, "cut") == 0) {
    const uint64_t seed = n == 2 ? std::strtoull(arg, nullptr, 10) : 0;
    state.frozen = true;
    ++state.stats.cuts;
    const CutReport r = state.journal.cut(seed, state.keep);
    char line[256];
    std::snprintf(line, sizeof line, "cut seed=%llu files=%llu pages=%llu kept=%llu dropped=%llu\n",
                  static_cast<unsigned long long>(r.seed), static_cast<unsigned long long>(r.files),
                  static_cast<unsigned long long>(r.pages), static_cast<unsigned long long>(r.kept),
                  static_cast<unsigned long long>(r.dropped));
    std::fprintf(stderr, "faultfs: power %s%s", line, r.detail.c_str());
    return line + r.detail;
  }
  if (n >= 1 && std::strcmp(verb, "resume") == 0) {
    state.frozen = false;
    return "resumed\n";
  }
  if (n == 2 && std::strcmp(verb, "keep") == 0) {
    char* end = nullptr;
    const double p = std::strtod(arg, &end);
    if (end == arg || *end != '\0' || !(p >= 0.0 && p <= 1.0)) return "error: keep wants a fraction in [0, 1]\n";
    state.keep = p;
    return "keep " + std::string(arg) + "\n";
  }
  if (n >= 1 && std::strcmp(verb, "stats") == 0) return stats_line(state);
  return "error: unknown command (cut SEED | resume | keep P | stats)\n";
}

int control_listen(const std::string& path) {
  const sockaddr_un a = address(path);
  if (path.size() >= sizeof a.sun_path) return -ENAMETOOLONG;
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0) {
    const int rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

void control_serve(int listen_fd, State& state) {
  while (true) {
    const int c = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    std::string line;
    char ch = 0;
    while (line.size() < 256) {
      const ssize_t n = read(c, &ch, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || ch == '\n') break;
      line.push_back(ch);
    }
    (void)write_all(c, run_command(state, line));
    close(c);
  }
}

int control_request(const std::string& path, const std::string& command, std::string& reply) {
  const sockaddr_un a = address(path);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int rc = 0;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0 || !write_all(fd, command + "\n")) rc = -errno;
  char buf[4096];
  while (rc == 0) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) rc = -errno;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return rc;
}

}  // namespace faultfs
