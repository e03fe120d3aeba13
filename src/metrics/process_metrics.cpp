// Process metrics from procfs (see process_metrics.h). Read at scrape time, as the client
// libraries do: a handful of syscalls per scrape, never on the request path.
#include "busyring/metrics/process_metrics.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <dirent.h>

#include "text_writer.h"

namespace busyring::metrics {
namespace {

// The whole of a small /proc file; its length, or -1.
ssize_t read_small_file(const char* path, char* buf, size_t cap) noexcept {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = 0;
  while (len + 1 < cap) {
    const ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0) {
      close(fd);
      return -1;
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  close(fd);
  buf[len] = '\0';
  return static_cast<ssize_t>(len);
}

// The boot time (btime of /proc/stat), seconds since the epoch; read once.
double boot_time_seconds() noexcept {
  static const double btime = [] {
    char buf[8192];
    if (read_small_file("/proc/stat", buf, sizeof buf) < 0) return 0.0;
    const char* at = std::strstr(buf, "\nbtime ");
    return at == nullptr ? 0.0 : std::strtod(at + 7, nullptr);
  }();
  return btime;
}

// Open descriptors: /proc/self/fd reports the count as its size since Linux 6.2 (one stat);
// older kernels report 0, and the directory is counted.
uint64_t count_open_fds() noexcept {
  struct stat st {};
  if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) return static_cast<uint64_t>(st.st_size);
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  uint64_t n = 0;
  while (const dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n > 0 ? n - 1 : 0;  // not the descriptor of the listing itself
}

}  // namespace

bool read_process_stats(ProcessStats& out) noexcept {
  char buf[1024];
  if (read_small_file("/proc/self/stat", buf, sizeof buf) < 0) return false;
  // The fields after "(comm)", which may itself hold spaces and parentheses: the first is
  // field 3 (state); starttime, vsize and rss are fields 22, 23 and 24 (proc(5)).
  const char* p = std::strrchr(buf, ')');
  if (p == nullptr) return false;
  unsigned long long field[25] = {};
  for (int i = 3; i <= 24; ++i) {
    while (*p == ' ' || *p == ')') ++p;
    if (*p == '\0') return false;
    char* end = nullptr;
    field[i] = std::strtoull(p, &end, 10);
    while (*end != ' ' && *end != '\0') ++end;  // the state letter is no number
    p = end;
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const auto page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  out.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                    static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  out.start_time_seconds = boot_time_seconds() + static_cast<double>(field[22]) / ticks;
  out.virtual_bytes = field[23];
  out.resident_bytes = field[24] * page;
  out.open_fds = count_open_fds();
  rlimit rl{};
  out.max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? static_cast<uint64_t>(rl.rlim_cur) : 0;
  return true;
}

size_t render_process_metrics(const ProcessStats& s, char* buf, size_t cap) noexcept {
  TextWriter out(buf, cap);
  const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  out.line("# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n"
           "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.6f\n", s.cpu_seconds);
  out.line("# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
           "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n", u(s.resident_bytes));
  out.line("# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
           "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n", u(s.virtual_bytes));
  out.line("# HELP process_open_fds Number of open file descriptors.\n"
           "# TYPE process_open_fds gauge\nprocess_open_fds %llu\n", u(s.open_fds));
  out.line("# HELP process_max_fds Maximum number of open file descriptors.\n"
           "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n", u(s.max_fds));
  out.line("# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n"
           "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n", s.start_time_seconds);
  return out.len();
}

size_t render_build_info(const char* version, const char* commit, char* buf, size_t cap) noexcept {
  TextWriter out(buf, cap);
  out.line("# HELP busyring_build_info The build: version and git commit; always 1.\n"
           "# TYPE busyring_build_info gauge\nbusyring_build_info{version=\"%s\",commit=\"%s\"} 1\n",
           version, commit);
  return out.len();
}

}  // namespace busyring::metrics
