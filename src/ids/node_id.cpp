// The node's name for the shared id counter.
#include "busyring/ids/node_id.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "busyring/base/fs.h"

namespace busyring::ids {
namespace {

constexpr size_t kHexDigits = 16;

bool valid(const std::string& id) {
  if (id.size() != kHexDigits) return false;
  for (const char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

base::Result<std::string> load_or_create_node_id(const std::string& data_dir) {
  const std::string path = data_dir + "/node-id";
  char buf[64];
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    std::string id(buf, n > 0 ? static_cast<size_t>(n) : 0);
    while (!id.empty() && id.back() == '\n') id.pop_back();
    if (!valid(id))
      return base::Error{path + " is not 16 hex digits; restore it (the shared id counter knows this node by it)"};
    return id;
  }
  if (errno != ENOENT) return base::Error{"cannot read " + path + ": " + std::strerror(errno)};
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r))
    return base::Error{std::string("getrandom: ") + std::strerror(errno)};
  const int len = std::snprintf(buf, sizeof buf, "%016llx\n", static_cast<unsigned long long>(r));
  const std::string tmp = path + ".tmp";
  fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return base::Error{"cannot create " + tmp + ": " + std::strerror(errno)};
  const bool written = ::write(fd, buf, static_cast<size_t>(len)) == len && ::fsync(fd) == 0;
  const int e = errno;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0)
    return base::Error{"cannot write " + path + ": " + std::strerror(written ? errno : e)};
  if (const int rc = base::fsync_dir(data_dir); rc < 0)
    return base::Error{"cannot sync " + data_dir + ": " + std::strerror(-rc)};
  return std::string(buf, kHexDigits);
}

}  // namespace busyring::ids
