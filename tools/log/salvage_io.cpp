// Salvage's file operations; see salvage_io.h. Falls back to buffered I/O (still followed by
// fdatasync) only where the filesystem refuses O_DIRECT (tmpfs), never silently otherwise.
#include "salvage_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "busyring/base/align.h"
#include "busyring/base/fs.h"
#include "busyring/base/io.h"
#include "busyring/storage/record.h"
#include "busyring/storage/segment.h"

namespace busyring::logtool {
namespace {

constexpr size_t kCopyChunk = 1 << 20;

std::string errno_text(int e) { return std::strerror(e); }

// Creates the first free name of path.broken[.N]; returns its fd (or -errno) and sets *name.
int create_copy(const std::string& path, std::string* name) {
  for (int n = 0; n < 1000; ++n) {
    *name = path + ".broken" + (n == 0 ? std::string() : "." + std::to_string(n));
    const int fd = open(name->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0 || errno != EEXIST) return fd >= 0 ? fd : -errno;
  }
  return -EEXIST;
}

}  // namespace

base::Result<std::string> copy_aside(const std::string& path) {
  const int in = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return base::Error{"cannot read " + path + ": " + errno_text(errno)};
  std::string name;
  const int out = create_copy(path, &name);
  if (out < 0) {
    close(in);
    return base::Error{"cannot create " + name + ": " + errno_text(-out)};
  }
  void* buf = storage::alloc_aligned(kCopyChunk);
  int rc = buf == nullptr ? -ENOMEM : 0;
  for (uint64_t off = 0; rc == 0;) {
    const ssize_t n = base::pread_some(in, buf, kCopyChunk, off);
    if (n < 0) rc = static_cast<int>(n);
    if (n <= 0) break;
    rc = base::pwrite_all(out, buf, static_cast<size_t>(n), off);
    off += static_cast<uint64_t>(n);
  }
  if (rc == 0 && fsync(out) != 0) rc = -errno;
  close(in);
  close(out);
  if (buf != nullptr) storage::free_aligned(buf, kCopyChunk);
  if (rc == 0) rc = base::fsync_dir(base::parent_dir(path));
  if (rc < 0) {
    unlink(name.c_str());
    return base::Error{"cannot copy " + path + " to " + name + ": " + errno_text(-rc)};
  }
  return name;
}

base::Status void_range(const std::string& path, uint64_t from, uint64_t to, uint32_t io_align) {
  if (from % 8 != 0 || to % 8 != 0 || to <= from || io_align == 0)
    return base::Error{"bad range [" + std::to_string(from) + ", " + std::to_string(to) + ") to void in " + path};
  int fd = open(path.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  if (fd < 0 && errno == EINVAL) fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return base::Error{"cannot open " + path + " for writing: " + errno_text(errno)};
  const uint64_t first = base::align_down(from, io_align);
  const uint64_t end = base::align_up(to, io_align);
  const auto bytes = static_cast<size_t>(end - first);
  const auto mapped = static_cast<size_t>(base::align_up(bytes, 4096));
  auto* buf = static_cast<uint8_t*>(storage::alloc_aligned(mapped));
  int rc = buf == nullptr ? -ENOMEM : base::pread_all(fd, buf, bytes, first);
  if (rc == 0) {
    uint8_t* at = buf + (from - first);
    std::memset(at, 0, static_cast<size_t>(to - from));
    if (to - from >= storage::record_bytes(0))
      storage::encode_record(at, storage::RecordKind::skip, from, to, nullptr, 0);
    rc = base::pwrite_all(fd, buf, bytes, first);
  }
  if (rc == 0 && fdatasync(fd) != 0) rc = -errno;
  close(fd);
  if (buf != nullptr) storage::free_aligned(buf, mapped);
  if (rc < 0)
    return base::Error{"cannot void bytes [" + std::to_string(from) + ", " + std::to_string(to) + ") of " + path +
                       ": " + errno_text(-rc)};
  return base::ok_status();
}

}  // namespace busyring::logtool
