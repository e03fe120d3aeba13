// The fuzz corpora as regression tests: every file under CORPUS/<target>/ is fed to the target
// of that name, in a plain (g++, no libFuzzer) build, in sorted order, each in a child process
// so that one crash does not hide the rest. A corpus folder that names no target is an error,
// so a renamed target cannot silently stop being replayed. Ends with "N inputs replayed" (and
// how many failed); exits 1 if any input crashed or failed a check.
//
// Usage: fuzz-replay CORPUS_DIR [TARGET...]   (targets: all of them when none are named)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_target.h"

namespace {

struct Target {
  std::string_view name;
  int (*run)(const uint8_t*, size_t);
};

constexpr Target kTargets[] = {
    {"http_stream", fuzz_http_stream},     {"usage_json", fuzz_usage_json},
    {"record_decode", fuzz_record_decode}, {"recovery_scan", fuzz_recovery_scan},
    {"log_tool", fuzz_log_tool},           {"batch_body", fuzz_batch_body},
};

// The input being replayed, for the line a crash prints (from a signal handler: write only).
char g_current[4096];

void on_fatal_signal(int sig) {
  static constexpr char kPrefix[] = "fuzz-replay: crashed on ";
  const int fd = busyring::fuzz::g_report_fd;
  (void)!write(fd, kPrefix, sizeof kPrefix - 1);
  (void)!write(fd, g_current, strnlen(g_current, sizeof g_current));
  (void)!write(fd, "\n", 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

const Target* find_target(std::string_view name) {
  for (const Target& t : kTargets)
    if (t.name == name) return &t;
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [TARGET...]\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    std::fprintf(stderr, "fuzz-replay: %s is not a directory\n", root.c_str());
    return 2;
  }
  // Only where nothing (a sanitizer's runtime) handles the signal already.
  for (const int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
    struct sigaction old {};
    if (sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_DFL) signal(sig, on_fatal_signal);
  }
  std::vector<std::string> wanted(argv + 2, argv + argc);
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (find_target(name) == nullptr) {
      std::fprintf(stderr, "fuzz-replay: %s names no fuzz target\n", entry.path().c_str());
      return 1;
    }
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end()) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());

  size_t replayed = 0;
  size_t failed = 0;
  for (const fs::path& dir : dirs) {
    const Target* target = find_target(dir.filename().string());
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    size_t count = 0;
    for (const fs::path& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.eof() && !in.good()) {
        std::fprintf(stderr, "fuzz-replay: cannot read %s\n", file.c_str());
        return 1;
      }
      std::snprintf(g_current, sizeof g_current, "%s", file.c_str());
      std::fflush(nullptr);
      const pid_t pid = fork();
      if (pid < 0) {
        std::perror("fuzz-replay: fork");
        return 1;
      }
      if (pid == 0) {
        (void)target->run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
        std::exit(0);  // exit, not _exit: static destructors and the leak checker run
      }
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "fuzz-replay: FAILED %s (%s %d)\n", file.c_str(),
                     WIFSIGNALED(status) ? "signal" : "exit status",
                     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        ++failed;
      }
      ++count;
    }
    std::printf("%s: %zu inputs\n", target->name.data(), count);
    replayed += count;
  }
  if (failed > 0) {
    std::printf("%zu inputs replayed, %zu failed\n", replayed, failed);
    return 1;
  }
  std::printf("%zu inputs replayed\n", replayed);
  return 0;
}
