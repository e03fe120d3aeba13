// The data dir's lock and direct-I/O probe; see data_dir.h.
#include "busyring/storage/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/storage/segment.h"

namespace busyring::storage {
namespace {

// Holds DATA_DIR/LOCK until the process exits (the fd is never closed on purpose).
base::Status hold_lock(const std::string& dir) {
  const int fd = lock_data_dir(dir);
  if (fd >= 0) return base::ok_status();
  const std::string path = dir + "/LOCK";
  if (fd == -EWOULDBLOCK)
    return base::Error{"another busyring is using " + dir + " (" + path +
                       " is locked); stop it or choose another --data-dir"};
  return base::Error{"cannot create " + path + ": " + std::strerror(-fd) + " (check --data-dir and its permissions)"};
}

base::Status check_direct_io(const std::string& dir) {
  const std::string probe = dir + "/.direct-io-probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
  const int e = errno;
  if (fd >= 0) ::close(fd);
  ::unlink(probe.c_str());
  if (fd >= 0) return base::ok_status();
  if (e == EINVAL)
    return base::Error{"the filesystem of " + dir +
                       " does not support O_DIRECT (tmpfs?); use a --data-dir on ext4 or xfs"};
  return base::Error{"cannot write in " + dir + ": " + std::strerror(e) + " (check --data-dir and its permissions)"};
}

}  // namespace

int lock_data_dir(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int rc = -errno;
    ::close(fd);
    return rc;
  }
  return fd;
}

base::Status open_data_dir(const std::string& dir) {
  if (const int rc = make_dirs(dir); rc < 0)
    return base::Error{"cannot create --data-dir " + dir + ": " + std::strerror(-rc)};
  if (auto locked = hold_lock(dir); !locked) return locked;
  return check_direct_io(dir);
}

}  // namespace busyring::storage
