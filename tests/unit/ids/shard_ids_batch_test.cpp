// ShardIds::next_range (issue 20): a batch's K consecutive ids come from the current block when
// it has K left, else from a fresh reservation of exactly K that leaves the block's rest for
// single ids; a shared source's short piece is kept for single ids, never lost.
#include <catch2/catch.hpp>

#include <vector>

#include "busyring/ids/block_source.h"
#include "busyring/ids/shard_ids.h"

using busyring::ids::BlockSource;
using busyring::ids::IdRange;
using busyring::ids::LocalBlockSource;
using busyring::ids::ShardIds;

namespace {

constexpr uint64_t kT0 = 10'000'000'000;

// Hands out at most `cap` ids per take, as a shared source does at the end of a reserved range.
class CappedSource final : public BlockSource {
 public:
  explicit CappedSource(uint64_t cap) : cap_(cap) {}
  IdRange take(uint32_t count) noexcept override {
    const uint64_t n = std::min<uint64_t>(count, cap_);
    const IdRange r{next_, next_ + n};
    next_ += n;
    cap_ = 1'000'000;  // only the first take is short
    return r;
  }

 private:
  uint64_t cap_;
  uint64_t next_ = 1;
};

}  // namespace

TEST_CASE("a batch takes K consecutive ids from the block when it has them, else exactly K fresh", "[ids][batch]") {
  LocalBlockSource source(1);
  ShardIds ids(source, 32, {});
  CHECK(ids.next(kT0) == 1);  // a slow single: a block of one
  const IdRange fresh = ids.next_range(100);
  CHECK(fresh.first == 2);
  CHECK(fresh.size() == 100);
  CHECK(source.peek() == 102);  // exactly K reserved: nothing left unused
  // Singles in quick succession grow their block; a small batch fits in its rest.
  CHECK(ids.next(kT0 + 1) == 102);
  CHECK(ids.next(kT0 + 2) == 103);
  CHECK(ids.next(kT0 + 3) == 104);  // block [103, 105)
  const IdRange small = ids.next_range(1);
  CHECK(small.first == 105);  // from a fresh take: the block [103,105) had none left
  CHECK(small.size() == 1);
}

TEST_CASE("a batch leaves the block's rest to single ids", "[ids][batch]") {
  LocalBlockSource source(1);
  ShardIds ids(source, 8, {});
  uint64_t t = kT0;
  std::vector<uint64_t> singles;
  for (int i = 0; i < 4; ++i) singles.push_back(ids.next(t++));  // blocks 1, 2, 4: [1],[2,3],[4..7]
  CHECK(singles == std::vector<uint64_t>{1, 2, 3, 4});
  const IdRange batch = ids.next_range(5);  // 3 left in the block: not enough
  CHECK(batch.first == 8);
  CHECK(batch.size() == 5);
  CHECK(ids.next(t++) == 5);  // the rest of the block is still issued
  CHECK(ids.next(t++) == 6);
  const IdRange two = ids.next_range(1);
  CHECK(two.first == 7);  // fits in what was left
}

TEST_CASE("a short piece from a shared source is kept for single ids", "[ids][batch]") {
  CappedSource source(30);
  ShardIds ids(source, 32, {});
  const IdRange batch = ids.next_range(100);
  CHECK(batch.first == 31);
  CHECK(batch.size() == 100);
  std::vector<uint64_t> singles;
  for (int i = 0; i < 30; ++i) singles.push_back(ids.next(kT0));
  CHECK(singles.front() == 1);
  CHECK(singles.back() == 30);
}
