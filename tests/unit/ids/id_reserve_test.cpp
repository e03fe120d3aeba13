// ids/id_reserve: ranges published by one thread are taken by many, each id exactly once, in
// range order; publishing is refused while kSlots ranges are unused; available() counts.
#include "ids/id_reserve.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

using busyring::ids::IdRange;
using busyring::ids::IdReserve;

TEST_CASE("IdReserve hands out its ranges in order, cutting blocks at range ends", "[ids]") {
  IdReserve r;
  CHECK(r.take(4).empty());
  REQUIRE(r.publish({10, 16}));
  REQUIRE(r.publish({100, 102}));
  CHECK(r.available() == 8);
  IdRange a = r.take(4);
  CHECK((a.first == 10 && a.end == 14));
  a = r.take(4);
  CHECK((a.first == 14 && a.end == 16));
  a = r.take(4);
  CHECK((a.first == 100 && a.end == 102));
  CHECK(r.take(1).empty());
  CHECK(r.available() == 0);
}

TEST_CASE("IdReserve refuses a range while every slot holds an unused one", "[ids]") {
  IdReserve r;
  for (uint32_t i = 0; i < IdReserve::kSlots; ++i) REQUIRE(r.publish({1 + i * 10ull, 11 + i * 10ull}));
  CHECK_FALSE(r.publish({1000, 1010}));
  CHECK(r.take(10).first == 1);
  CHECK(r.take(1).first == 11);  // the cursor moves to the second range, freeing the first slot
  CHECK(r.publish({1000, 1010}));
}

TEST_CASE("IdReserve: four takers and one publisher, every id once", "[ids]") {
  IdReserve r;
  constexpr uint64_t kRanges = 2000;
  constexpr uint64_t kSize = 37;
  std::atomic<bool> done{false};
  std::vector<std::vector<uint64_t>> got(4);
  std::vector<std::thread> takers;
  for (auto& mine : got)
    takers.emplace_back([&r, &done, &mine] {
      for (;;) {
        const bool last = done.load();
        const IdRange b = r.take(5);
        for (uint64_t id = b.first; id < b.end; ++id) mine.push_back(id);
        if (b.empty() && last) return;
      }
    });
  uint64_t published = 0;
  while (published < kRanges) {
    // Ranges with gaps between them, as a shared counter hands them to several nodes.
    const uint64_t first = 1 + published * 100;
    if (r.publish({first, first + kSize})) ++published;
    else std::this_thread::yield();
  }
  done.store(true);
  for (auto& t : takers) t.join();
  std::vector<uint64_t> all;
  for (auto& mine : got) {
    CHECK(std::is_sorted(mine.begin(), mine.end()));
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  REQUIRE(all.size() == kRanges * kSize);
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
  CHECK(all.front() == 1);
  CHECK(all.back() == 1 + (kRanges - 1) * 100 + kSize - 1);
}
