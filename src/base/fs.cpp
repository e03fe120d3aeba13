// Filesystem helpers.
#include "busyring/base/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace busyring::base {

int fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  const int rc = ::fsync(fd) == 0 ? 0 : -errno;
  ::close(fd);
  return rc;
}

}  // namespace busyring::base
