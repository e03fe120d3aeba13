// Id recovery: a bitmap of the ids on disk (start-up only; 1 bit per id).
#include "busyring/ids/id_recovery.h"

#include <algorithm>

namespace busyring::ids {

void IdRecovery::add(uint64_t id) {
  if (id == 0) return;
  const uint64_t word = id / 64;
  if (word >= bits_.size()) bits_.grow(word + 1);
  const uint64_t mask = 1ull << (id % 64);
  if (bits_[word] & mask) {
    ++duplicates_;
    return;
  }
  bits_[word] |= mask;
  ++count_;
  max_id_ = std::max(max_id_, id);
}

void IdRecovery::add_range(uint64_t first, uint64_t end) {
  if (first == 0) first = 1;
  if (first >= end) return;
  const uint64_t last_word = (end - 1) / 64;
  if (last_word >= bits_.size()) bits_.grow(last_word + 1);
  for (uint64_t w = first / 64; w <= last_word; ++w) {
    const uint64_t lo = w == first / 64 ? first % 64 : 0;
    const uint64_t hi = w == last_word ? (end - 1) % 64 : 63;  // inclusive
    const uint64_t mask = (hi == 63 ? ~0ull : (1ull << (hi + 1)) - 1) & ~((1ull << lo) - 1);
    // Counted without popcount where nothing overlaps (the usual case): built without -mpopcnt,
    // each popcount is a libgcc call, and start-up adds millions of spans.
    const uint64_t both = bits_[w] & mask;
    const uint64_t dup = both == 0 ? 0 : static_cast<uint64_t>(__builtin_popcountll(both));
    duplicates_ += dup;
    count_ += hi - lo + 1 - dup;
    bits_[w] |= mask;
  }
  max_id_ = std::max(max_id_, end - 1);
}

void IdRecovery::merge(const IdRecovery& other) {
  bits_.grow(other.bits_.size());
  // Ids in both are duplicates, every other id of `other` is new: popcount only where words
  // overlap (rare), not over the whole bitmap.
  uint64_t in_both = 0;
  for (size_t w = 0; w < other.bits_.size(); ++w) {
    const uint64_t both = bits_[w] & other.bits_[w];
    if (both != 0) in_both += static_cast<uint64_t>(__builtin_popcountll(both));
    bits_[w] |= other.bits_[w];
  }
  count_ += other.count_ - in_both;
  duplicates_ += in_both + other.duplicates_;
  max_id_ = std::max(max_id_, other.max_id_);
}

std::vector<IdRange> IdRecovery::holes() const {
  std::vector<IdRange> out;
  uint64_t id = 1;
  while (id <= max_id_) {
    const uint64_t w = bits_[id / 64];
    if (w == ~0ull && id % 64 == 0) {
      id += 64;
      continue;
    }
    if (w & (1ull << (id % 64))) {
      ++id;
      continue;
    }
    const uint64_t first = id;
    while (id <= max_id_ && !(bits_[id / 64] & (1ull << (id % 64)))) ++id;
    out.push_back({first, id});
  }
  return out;
}

bool IdRecovery::has(uint64_t id) const noexcept {
  const uint64_t word = id / 64;
  return word < bits_.size() && (bits_[word] & (1ull << (id % 64))) != 0;
}

std::vector<IdRange> IdRecovery::holes_within(const std::vector<IdRange>& held) const {
  std::vector<IdRange> out;
  for (const IdRange& r : held) {
    uint64_t id = r.first;
    while (id < r.end) {
      if (has(id)) {
        ++id;
        continue;
      }
      const uint64_t first = id;
      while (id < r.end && !has(id)) {
        // Past the bitmap every id is a hole: take the rest of the range at once.
        if (id / 64 >= bits_.size()) id = r.end;
        else ++id;
      }
      out.push_back({first, id});
    }
  }
  return out;
}

uint64_t IdRecovery::count_within(const std::vector<IdRange>& held) const {
  uint64_t n = 0;
  for (const IdRange& r : held)
    for (uint64_t id = r.first; id < r.end && id / 64 < bits_.size(); ++id) n += has(id) ? 1 : 0;
  return n;
}

std::vector<std::vector<IdRange>> IdRecovery::deal(const std::vector<IdRange>& holes,
                                                   uint32_t shards, uint32_t block) {
  std::vector<std::vector<IdRange>> out(shards);
  uint32_t next = 0;
  for (const IdRange& h : holes) {
    for (uint64_t first = h.first; first < h.end; first += block) {
      out[next].push_back({first, std::min<uint64_t>(first + block, h.end)});
      next = (next + 1) % shards;
    }
  }
  return out;
}

}  // namespace busyring::ids
