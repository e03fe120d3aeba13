// Whole reads and writes on blocking file descriptors, for start-up, recovery and the tools
// (the shards' I/O goes through io_uring instead). Every call retries EINTR and resumes a short
// transfer where it stopped, so no caller writes that loop again. Syscall style: 0 or -errno.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace busyring::base {

// All `bytes`, or -errno; -EIO when the kernel takes no byte (a full device it does not name).
[[nodiscard]] int write_all(int fd, const void* buf, size_t bytes) noexcept;
[[nodiscard]] int pwrite_all(int fd, const void* buf, size_t bytes, uint64_t offset) noexcept;

// Exactly `bytes` at `offset`, or -errno; -EIO when the file ends first.
[[nodiscard]] int pread_all(int fd, void* buf, size_t bytes, uint64_t offset) noexcept;

// One read: the bytes read (0 at the end of the file), or -errno. EINTR is retried.
[[nodiscard]] ssize_t read_some(int fd, void* buf, size_t bytes) noexcept;
[[nodiscard]] ssize_t pread_some(int fd, void* buf, size_t bytes, uint64_t offset) noexcept;

// Appends everything up to the end of fd to `out`: 0, -errno, or -EFBIG as soon as `out`
// would grow past max_bytes (then `out` holds some of it: not to be used).
[[nodiscard]] int read_all(int fd, std::string& out, size_t max_bytes);

// read_all for secrets (passwords, tokens): reads straight into `out`, sized once to
// max_bytes + 1 and never reallocated, without a bounce buffer, so that no copy of the bytes is
// left in freed memory (the caller wipes `out` when done). 0 with `out` holding what fd held,
// -errno, or -EFBIG when it holds more than max_bytes.
[[nodiscard]] int read_secret(int fd, std::string& out, size_t max_bytes);
// read_all of the file at `path` (-ENOENT when there is none).
[[nodiscard]] int read_file(const std::string& path, std::string& out, size_t max_bytes);

}  // namespace busyring::base
