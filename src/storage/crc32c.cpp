// CRC32C: hardware path via the SSE4.2 crc32 instruction (chosen once at startup), table path
// otherwise. Both take and return the finalised CRC, so calls chain.
#include "crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace busyring::storage {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;  // reflected Castagnoli polynomial

constexpr std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}

constexpr std::array<uint32_t, 256> kTable = make_table();

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t crc, const void* data,
                                                       size_t bytes) noexcept {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = ~crc;
  while (bytes >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
    p += 8;
    bytes -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (bytes > 0) {
    c32 = _mm_crc32_u8(c32, *p++);
    --bytes;
  }
  return ~c32;
}

bool has_sse42() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

const bool kHardware = has_sse42();
#endif

}  // namespace

uint32_t crc32c_portable(uint32_t crc, const void* data, size_t bytes) noexcept {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  for (size_t i = 0; i < bytes; ++i) c = kTable[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
  return ~c;
}

uint32_t crc32c(uint32_t crc, const void* data, size_t bytes) noexcept {
#if defined(__x86_64__)
  if (kHardware) return crc32c_hw(crc, data, bytes);
#endif
  return crc32c_portable(crc, data, bytes);
}

}  // namespace busyring::storage
