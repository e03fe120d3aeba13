// BitWords: see bit_words.h.
#include "busyring/ids/bit_words.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

namespace busyring::ids {
namespace {

constexpr size_t kChunkBytes = 2u << 20;  // a huge page

size_t round_up(size_t bytes) { return (bytes + kChunkBytes - 1) / kChunkBytes * kChunkBytes; }

}  // namespace

BitWords::~BitWords() { release(); }

void BitWords::release() noexcept {
  if (data_ != nullptr) munmap(data_, capacity_bytes_);
  data_ = nullptr;
  words_ = 0;
  capacity_bytes_ = 0;
}

BitWords::BitWords(const BitWords& other) { *this = other; }

BitWords& BitWords::operator=(const BitWords& other) {
  if (this == &other) return *this;
  release();
  grow(other.words_);
  if (other.words_ > 0) std::memcpy(data_, other.data_, other.words_ * sizeof(uint64_t));
  return *this;
}

BitWords::BitWords(BitWords&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      words_(std::exchange(other.words_, 0)),
      capacity_bytes_(std::exchange(other.capacity_bytes_, 0)) {}

BitWords& BitWords::operator=(BitWords&& other) noexcept {
  if (this == &other) return *this;
  release();
  data_ = std::exchange(other.data_, nullptr);
  words_ = std::exchange(other.words_, 0);
  capacity_bytes_ = std::exchange(other.capacity_bytes_, 0);
  return *this;
}

void BitWords::grow(size_t words) {
  if (words <= words_) return;
  const size_t needed = words * sizeof(uint64_t);
  if (needed > capacity_bytes_) {
    const size_t bytes = round_up(std::max(needed, 2 * capacity_bytes_));
    void* p = data_ == nullptr ? mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                               : mremap(data_, capacity_bytes_, bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
    (void)madvise(p, bytes, MADV_HUGEPAGE);  // a hint: without THP, plain pages
    data_ = static_cast<uint64_t*>(p);
    capacity_bytes_ = bytes;
  }
  words_ = words;  // pages past the old size were never written: the kernel gives them zeroed
}

}  // namespace busyring::ids
