// Test support: a fresh directory under /tmp (a real filesystem, so O_DIRECT works), removed
// with everything in it when the guard goes out of scope; and counting this process's open fds.
#pragma once

#include <dirent.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace busyring::test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/busyring-unit-XXXXXX";
    const char* p = mkdtemp(tmpl);
    path_ = p != nullptr ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Entries of /proc/self/fd (the directory stream's own fd included, so compare counts only).
inline int open_fd_count() {
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  int n = 0;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n;
}

}  // namespace busyring::test
