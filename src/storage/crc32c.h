// CRC32C (Castagnoli): the SSE4.2 crc32 instruction when the CPU has it, a table otherwise.
// crc32c(crc32c(0, a), b) == crc32c(0, a ++ b), so a record's CRC can be built in pieces.
#pragma once

#include <cstddef>
#include <cstdint>

namespace busyring::storage {

[[nodiscard]] uint32_t crc32c(uint32_t crc, const void* data, size_t bytes) noexcept;

// The portable path, exposed so tests can check both agree.
[[nodiscard]] uint32_t crc32c_portable(uint32_t crc, const void* data, size_t bytes) noexcept;

}  // namespace busyring::storage
