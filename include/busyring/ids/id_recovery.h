// Id recovery at start-up: learns every id found in the logs, then tells the highest, the
// duplicates (an id on disk twice breaks the promise; reported, never hidden) and the holes
// below the highest, dealt out to the shards in blocks so they are issued again first.
#pragma once

#include <cstdint>
#include <vector>

#include "busyring/ids/bit_words.h"
#include "busyring/ids/id_range.h"

namespace busyring::ids {

class IdRecovery {
 public:
  void add(uint64_t id);
  // Every id of [first, end) at once (a segment summary's span), a word of the bitmap at a time.
  void add_range(uint64_t first, uint64_t end);
  // Ids that a summary says appear twice within its segment (its records outnumber its ids).
  void add_duplicates(uint64_t n) noexcept { duplicates_ += n; }
  // Folds another recovery in (ids found by both count as duplicates).
  void merge(const IdRecovery& other);

  uint64_t max_id() const noexcept { return max_id_; }
  uint64_t count() const noexcept { return count_; }
  uint64_t duplicates() const noexcept { return duplicates_; }

  // Ranges of ids in [1, max_id] that no record carries, ascending.
  std::vector<IdRange> holes() const;

  // The same within `held` (the ranges a node reserved from a shared counter, ascending and
  // disjoint), up to each range's end: with a shared counter, every id of a range this node
  // reserved and did not use is its own to issue, above its highest id too.
  std::vector<IdRange> holes_within(const std::vector<IdRange>& held) const;

  // Ids on disk that fall in `held` (equal to count() when every record's id was reserved).
  uint64_t count_within(const std::vector<IdRange>& held) const;

  // Splits holes into pieces of at most `block` ids and deals them round-robin to `shards`.
  static std::vector<std::vector<IdRange>> deal(const std::vector<IdRange>& holes, uint32_t shards,
                                                uint32_t block);

 private:
  bool has(uint64_t id) const noexcept;

  BitWords bits_;  // bit i set: id i is on disk
  uint64_t max_id_ = 0;
  uint64_t count_ = 0;
  uint64_t duplicates_ = 0;
};

}  // namespace busyring::ids
