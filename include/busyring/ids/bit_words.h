// The word store of IdRecovery's bitmap (one bit per id of the log: tens of MB for a large one,
// filled at start-up): zeroed 64-bit words in anonymous memory that grows by mremap, so growing
// never copies, and whose pages are only touched when written, on transparent huge pages where
// the kernel has them (fewer page faults). std::vector would zero-fill and copy at each growth.
#pragma once

#include <cstddef>
#include <cstdint>

namespace busyring::ids {

class BitWords {
 public:
  BitWords() = default;
  ~BitWords();
  BitWords(const BitWords& other);
  BitWords& operator=(const BitWords& other);
  BitWords(BitWords&& other) noexcept;
  BitWords& operator=(BitWords&& other) noexcept;

  size_t size() const noexcept { return words_; }
  uint64_t& operator[](size_t i) noexcept { return data_[i]; }
  uint64_t operator[](size_t i) const noexcept { return data_[i]; }
  // At least `words` words; the new ones are zero. Throws std::bad_alloc when memory runs out.
  void grow(size_t words);

 private:
  void release() noexcept;

  uint64_t* data_ = nullptr;
  size_t words_ = 0;
  size_t capacity_bytes_ = 0;
};

}  // namespace busyring::ids
