// --ids-out: each worker buffers acknowledged ids as decimal lines in a fixed buffer and
// hands whole buffers to write(2) on a file shared by all workers (opened O_APPEND, so
// buffers of different workers never overwrite each other). One syscall per ~4000 ids.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace busyring::load {

class IdsWriter {
 public:
  static constexpr size_t buffer_bytes = 64 * 1024;

  // fd < 0: ids are dropped (no --ids-out). The fd stays owned by the caller.
  explicit IdsWriter(int fd);
  void add(uint64_t id) noexcept;
  // Writes out what is buffered; returns 0 or the first -errno any write got.
  [[nodiscard]] int flush() noexcept;

 private:
  std::unique_ptr<char[]> buf_;
  size_t used_ = 0;
  int fd_;
  int error_ = 0;
};

}  // namespace busyring::load
