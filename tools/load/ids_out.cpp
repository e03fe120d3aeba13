// IdsWriter: decimal formatting into the buffer and full writes (short writes resumed).
#include "ids_out.h"

#include <charconv>

#include "busyring/base/io.h"

namespace busyring::load {

IdsWriter::IdsWriter(int fd) : buf_(fd >= 0 ? new char[buffer_bytes] : nullptr), fd_(fd) {}

void IdsWriter::add(uint64_t id) noexcept {
  if (fd_ < 0) return;
  constexpr size_t line_max = 21;  // 20 digits and '\n'
  if (buffer_bytes - used_ < line_max) (void)flush();
  char* at = buf_.get() + used_;
  const auto result = std::to_chars(at, at + line_max - 1, id);
  *result.ptr = '\n';
  used_ += static_cast<size_t>(result.ptr + 1 - at);
}

int IdsWriter::flush() noexcept {
  if (error_ == 0) error_ = base::write_all(fd_, buf_.get(), used_);
  used_ = 0;
  return error_;
}

}  // namespace busyring::load
