// ids/shard_ids and ids/block_source: holes are issued first in ascending order, then blocks
// whose size adapts to the request rate; unissue gives the last id back; many threads on one
// LocalBlockSource get unique ids with no gap beyond threads x block.
#include "busyring/ids/shard_ids.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>
#include <vector>

#include "busyring/base/clock.h"
#include "busyring/ids/block_source.h"

using busyring::ids::IdRange;
using busyring::ids::LocalBlockSource;
using busyring::ids::ShardIds;

namespace {
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kT0 = 10'000 * kMs;  // any clock far from zero
}  // namespace

TEST_CASE("LocalBlockSource hands out consecutive blocks", "[ids]") {
  LocalBlockSource s(1);
  CHECK(s.take(32).first == 1);
  CHECK(s.take(1).first == 33);
  const IdRange r = s.take(5);
  CHECK(r.first == 34);
  CHECK(r.end == 39);
  CHECK(s.peek() == 39);
}

TEST_CASE("holes are issued first, in ascending order, then fresh blocks", "[ids]") {
  LocalBlockSource source(100);
  ShardIds ids(source, 32, {{3, 5}, {7, 8}, {9, 9}, {50, 52}});
  std::vector<uint64_t> got;
  for (int i = 0; i < 7; ++i) got.push_back(ids.next(kT0));
  CHECK(got == std::vector<uint64_t>{3, 4, 7, 50, 51, 100, 101});
  CHECK(ids.holes_reissued() == 5);
  CHECK(source.peek() > 100);
}

TEST_CASE("calls far apart take single ids from the shared counter", "[ids]") {
  LocalBlockSource source(1);
  ShardIds ids(source, 32, {});
  for (uint64_t i = 0; i < 10; ++i) {
    CHECK(ids.next(kT0 + i * 2 * kMs) == i + 1);
    CHECK(source.peek() == i + 2);  // exactly one id reserved each time
  }
  CHECK(ids.issued() == 10);
}

TEST_CASE("rapid calls double the block up to the limit", "[ids]") {
  LocalBlockSource source(1);
  ShardIds ids(source, 32, {});
  std::vector<uint64_t> reserved;  // the counter after each refill
  uint64_t last_peek = source.peek();
  for (uint64_t i = 1; i <= 200; ++i) {
    REQUIRE(ids.next(kT0) == i);  // still dense: one shard alone issues 1, 2, 3, ...
    if (source.peek() != last_peek) {
      reserved.push_back(source.peek() - last_peek);
      last_peek = source.peek();
    }
  }
  REQUIRE(reserved.size() >= 7);
  CHECK(std::vector<uint64_t>(reserved.begin(), reserved.begin() + 7) ==
        std::vector<uint64_t>{1, 2, 4, 8, 16, 32, 32});
  CHECK(*std::max_element(reserved.begin(), reserved.end()) == 32);
}

TEST_CASE("a pause resets the block size to one", "[ids]") {
  LocalBlockSource source(1);
  ShardIds ids(source, 8, {});
  for (int i = 0; i < 30; ++i) (void)ids.next(kT0);
  const uint64_t before = source.peek();
  const uint64_t issued_before = ids.issued();
  // Use up what is left of the current block, then pause.
  uint64_t id = 0;
  while (ids.issued() == issued_before) id = ids.next(kT0 + 5 * kMs);
  CHECK(source.peek() - before == 1);
  CHECK(id == before);
}

TEST_CASE("unissue gives the last id back so it is issued again", "[ids]") {
  LocalBlockSource source(1);
  ShardIds ids(source, 32, {});
  const uint64_t a = ids.next(kT0);
  const uint64_t b = ids.next(kT0);
  ids.unissue(b);
  CHECK(ids.next(kT0) == b);
  ids.unissue(a);  // not the last one issued: ignored
  CHECK(ids.next(kT0) == b + 1);
}

TEST_CASE("a hole id taken back is issued again before the next hole", "[ids]") {
  LocalBlockSource source(100);
  ShardIds ids(source, 32, {{5, 7}});
  CHECK(ids.next(kT0) == 5);
  ids.unissue(5);
  CHECK(ids.next(kT0) == 5);
  CHECK(ids.next(kT0) == 6);
  CHECK(ids.next(kT0) == 100);
}

TEST_CASE("eight threads issuing 100k ids each get unique, dense ids", "[ids]") {
  constexpr int kThreads = 8;
  constexpr uint64_t kPerThread = 100'000;
  constexpr uint32_t kBlock = 32;
  LocalBlockSource source(1);
  std::vector<std::vector<uint64_t>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&source, &got, t] {
      ShardIds ids(source, kBlock, {});
      auto& out = got[static_cast<size_t>(t)];
      out.reserve(kPerThread);
      for (uint64_t i = 0; i < kPerThread; ++i) out.push_back(ids.next(busyring::base::monotonic_ns()));
    });
  }
  for (auto& th : threads) th.join();
  std::vector<uint64_t> all;
  for (auto& v : got) {
    REQUIRE(std::is_sorted(v.begin(), v.end()));  // each shard issues in increasing order
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == kThreads * kPerThread);
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());  // unique
  CHECK(all.front() >= 1);
  const uint64_t reserved = source.peek() - 1;
  CHECK(all.back() <= reserved);
  // The only missing ids are the unused tails of each thread's last block.
  CHECK(reserved - all.size() <= kThreads * kBlock);
  CHECK(all.back() - all.size() <= kThreads * kBlock);
}

namespace {
// A source that gives what a test scripts: short blocks, nothing, or a refusal.
class ScriptedSource final : public busyring::ids::BlockSource {
 public:
  IdRange take(uint32_t count) noexcept override {
    if (ranges.empty()) return {};
    IdRange& r = ranges.front();
    const uint64_t n = std::min<uint64_t>(count, r.size());
    const IdRange out{r.first, r.first + n};
    r.first += n;
    if (r.empty()) ranges.erase(ranges.begin());
    return out;
  }
  void allow(bool allowed) noexcept { set_halted(!allowed); }
  std::vector<IdRange> ranges;
};
}  // namespace

TEST_CASE("a source with nothing to give makes next() return 0, and ids come back with it", "[ids]") {
  ScriptedSource source;
  ShardIds ids(source, 32, {});
  CHECK(ids.next(kT0) == 0);
  source.ranges = {{10, 12}, {40, 41}};
  CHECK(ids.next(kT0) == 10);
  CHECK(ids.next(kT0) == 11);  // the block was cut short at the range's end
  CHECK(ids.next(kT0) == 40);
  CHECK(ids.next(kT0) == 0);
}

TEST_CASE("a source that forbids issuing stops the ids in hand at once, holes and blocks alike", "[ids]") {
  ScriptedSource source;
  source.ranges = {{100, 200}};
  ShardIds ids(source, 4, {{5, 7}});
  CHECK(ids.next(kT0) == 5);
  source.allow(false);
  CHECK(ids.next(kT0) == 0);  // 6 is in hand, yet not issued
  source.allow(true);
  CHECK(ids.next(kT0) == 6);
  CHECK(ids.next(kT0) == 100);
  source.allow(false);
  CHECK(ids.next(kT0) == 0);
  source.allow(true);
  CHECK(ids.next(kT0) == 101);
}
