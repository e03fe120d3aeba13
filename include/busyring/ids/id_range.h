// A half-open range of ids [first, end).
#pragma once

#include <cstdint>

namespace busyring::ids {

struct IdRange {
  uint64_t first = 0;
  uint64_t end = 0;
  uint64_t size() const noexcept { return end - first; }
  bool empty() const noexcept { return first >= end; }
};

}  // namespace busyring::ids
