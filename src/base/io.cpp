// Whole transfers: one loop, shared by every call (EINTR retried, short transfers resumed).
#include "busyring/base/io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace busyring::base {
namespace {

// What one syscall returned, retried while a signal interrupts it: >= 0, or -errno.
template <typename Call>
ssize_t retry_eintr(Call call) noexcept {
  for (;;) {
    const ssize_t n = call();
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

// Calls step(done) until `bytes` moved; step makes one syscall for the rest.
template <typename Step>
int transfer_all(size_t bytes, Step step) noexcept {
  size_t done = 0;
  while (done < bytes) {
    const ssize_t n = retry_eintr([&] { return step(done); });
    if (n < 0) return static_cast<int>(n);
    if (n == 0) return -EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

off_t at(uint64_t offset, size_t done) noexcept { return static_cast<off_t>(offset + done); }

}  // namespace

int write_all(int fd, const void* buf, size_t bytes) noexcept {
  const auto* p = static_cast<const char*>(buf);
  return transfer_all(bytes, [&](size_t done) { return ::write(fd, p + done, bytes - done); });
}

int pwrite_all(int fd, const void* buf, size_t bytes, uint64_t offset) noexcept {
  const auto* p = static_cast<const char*>(buf);
  return transfer_all(bytes, [&](size_t done) { return ::pwrite(fd, p + done, bytes - done, at(offset, done)); });
}

int pread_all(int fd, void* buf, size_t bytes, uint64_t offset) noexcept {
  auto* p = static_cast<char*>(buf);
  return transfer_all(bytes, [&](size_t done) { return ::pread(fd, p + done, bytes - done, at(offset, done)); });
}

ssize_t read_some(int fd, void* buf, size_t bytes) noexcept {
  return retry_eintr([&] { return ::read(fd, buf, bytes); });
}

ssize_t pread_some(int fd, void* buf, size_t bytes, uint64_t offset) noexcept {
  return retry_eintr([&] { return ::pread(fd, buf, bytes, at(offset, 0)); });
}

int read_all(int fd, std::string& out, size_t max_bytes) {
  char buf[65536];
  for (;;) {
    const ssize_t n = read_some(fd, buf, sizeof buf);
    if (n <= 0) return static_cast<int>(n);
    if (out.size() > max_bytes || static_cast<size_t>(n) > max_bytes - out.size()) return -EFBIG;
    out.append(buf, static_cast<size_t>(n));
  }
}

int read_secret(int fd, std::string& out, size_t max_bytes) {
  out.assign(max_bytes + 1, '\0');
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = read_some(fd, out.data() + got, out.size() - got);
    if (n < 0) return static_cast<int>(n);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);  // shrinking keeps the buffer: nothing is copied
  return got > max_bytes ? -EFBIG : 0;
}

int read_file(const std::string& path, std::string& out, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  const int rc = read_all(fd, out, max_bytes);
  ::close(fd);
  return rc;
}

}  // namespace busyring::base
