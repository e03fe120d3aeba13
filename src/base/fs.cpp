// Filesystem helpers: a path's directory, a directory's fsync, a file replaced durably.
#include "busyring/base/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "busyring/base/io.h"

namespace busyring::base {

std::string parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

int fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  const int rc = ::fsync(fd) == 0 ? 0 : -errno;
  ::close(fd);
  return rc;
}

int replace_file_durably(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  int rc = write_all(fd, text.data(), text.size());
  if (rc == 0 && ::fsync(fd) != 0) rc = -errno;
  if (::close(fd) != 0 && rc == 0) rc = -errno;
  if (rc == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) rc = -errno;
  if (rc != 0) {
    ::unlink(tmp.c_str());
    return rc;
  }
  return fsync_dir(parent_dir(path));
}

}  // namespace busyring::base
