// A provided-buffer ring for multishot receives (liburing 2.3 has no io_uring_setup_buf_ring,
// so this does the mmap + register itself). Each buffer is followed by `padding` bytes that are
// never given to the kernel, so a body inside any buffer can be parsed by simdjson in place.
// A receive CQE lends buffer `bid` (lent() counts it); give_back() returns it, publish() makes
// the returns visible to the kernel once per loop turn.
#pragma once

#include <liburing.h>

#include <cstdint>

namespace busyring::net {

class BufRing {
 public:
  BufRing() = default;
  BufRing(const BufRing&) = delete;
  BufRing& operator=(const BufRing&) = delete;
  ~BufRing();

  // entries: a power of two. Returns 0 or -errno.
  [[nodiscard]] int setup(io_uring* ring, uint16_t group, uint32_t entries, uint32_t buffer_bytes,
                          uint32_t padding) noexcept;

  char* buffer(uint16_t bid) noexcept { return buffers_ + static_cast<size_t>(bid) * stride_; }
  void give_back(uint16_t bid) noexcept;
  void publish() noexcept;
  // A CQE carried a buffer: the kernel took it from the ring.
  void lent() noexcept { --free_; }
  // Buffers in the ring or about to be (given back; the kernel may have taken some since).
  uint32_t available() const noexcept { return free_; }
  uint16_t group() const noexcept { return group_; }

 private:
  io_uring* ring_ = nullptr;
  io_uring_buf_ring* br_ = nullptr;
  char* buffers_ = nullptr;
  size_t ring_bytes_ = 0;
  size_t buffers_bytes_ = 0;
  uint32_t entries_ = 0;
  uint32_t buffer_bytes_ = 0;
  size_t stride_ = 0;
  uint16_t group_ = 0;
  int pending_ = 0;
  uint32_t free_ = 0;
};

}  // namespace busyring::net
