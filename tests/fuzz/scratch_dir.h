// A scratch directory for the targets that drive file-reading code: on tmpfs (/dev/shm) when
// there is one, so each run's writes and fsyncs cost no disk I/O; removed at exit. Also a way
// to run code that logs to stderr without its lines flooding the fuzzer's output.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fuzz_target.h"

// The sanitizers' report fd, where a sanitizer runtime is linked (weak: absent otherwise).
extern "C" void __sanitizer_set_report_fd(void* fd) __attribute__((weak));

namespace busyring::fuzz {

inline void set_report_fd(int fd) {
  g_report_fd = fd;
  if (__sanitizer_set_report_fd != nullptr)
    __sanitizer_set_report_fd(reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
}

class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path(ec);
    path_ = (base / ("busyring-fuzz-" + name + "-" + std::to_string(getpid()))).string();
    fs::remove_all(path_, ec);
    BR_FUZZ_CHECK(fs::create_directories(path_, ec));
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  // Empties the directory (keeps it).
  void clear() const {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path_, ec)) std::filesystem::remove_all(entry.path(), ec);
  }

 private:
  std::string path_;
};

// Writes `bytes` to `path` (created or truncated); checks that it worked.
inline void write_file(const std::string& path, const uint8_t* bytes, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  BR_FUZZ_CHECK(fd >= 0);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, bytes + done, size - done);
    BR_FUZZ_CHECK(n > 0);
    done += static_cast<size_t>(n);
  }
  BR_FUZZ_CHECK(::close(fd) == 0);
}

// While alive, fd 2 goes to /dev/null (the code under test logs one line per torn tail), but
// failed checks and sanitizer reports still go to the real stderr.
class QuietStderr {
 public:
  QuietStderr() : saved_(::dup(2)) {
    if (saved_ < 0) return;
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null_fd >= 0) {
      ::dup2(null_fd, 2);
      ::close(null_fd);
    }
    set_report_fd(saved_);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    ::dup2(saved_, 2);
    set_report_fd(2);
    ::close(saved_);
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_;
};

}  // namespace busyring::fuzz
