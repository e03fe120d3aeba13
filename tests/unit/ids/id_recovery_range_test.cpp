// ids/id_recovery add_range: a summary's spans set the same bits as their ids one by one
// (across word boundaries, at id 0's word), count ids already there as duplicates, and leave
// the same holes.
#include <catch2/catch.hpp>

#include <utility>
#include <vector>

#include "busyring/ids/bit_words.h"
#include "busyring/ids/id_recovery.h"

using busyring::ids::IdRange;
using busyring::ids::IdRecovery;

TEST_CASE("add_range equals adding each id", "[ids]") {
  const std::vector<IdRange> spans = {{1, 2}, {5, 64}, {64, 65}, {70, 200}, {255, 257}, {1000, 1001}};
  IdRecovery by_range, by_id;
  for (const IdRange& s : spans) {
    by_range.add_range(s.first, s.end);
    for (uint64_t id = s.first; id < s.end; ++id) by_id.add(id);
  }
  CHECK(by_range.count() == by_id.count());
  CHECK(by_range.max_id() == 1000);
  CHECK(by_range.duplicates() == 0);
  const auto a = by_range.holes(), b = by_id.holes();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK((a[i].first == b[i].first && a[i].end == b[i].end));
}

TEST_CASE("add_range counts ids already present as duplicates", "[ids]") {
  IdRecovery r;
  r.add(10);
  r.add_range(5, 130);
  r.add_range(128, 140);
  CHECK(r.count() == 135);
  CHECK(r.duplicates() == 3);  // 10, 128, 129
  r.add_range(0, 3);           // id 0 is no id
  CHECK(r.count() == 137);
  r.add_duplicates(2);
  CHECK(r.duplicates() == 5);
}

TEST_CASE("BitWords grow zeroed without losing words, and copy and move", "[ids]") {
  busyring::ids::BitWords w;
  CHECK(w.size() == 0);
  w.grow(3);
  REQUIRE(w.size() == 3);
  CHECK((w[0] == 0 && w[1] == 0 && w[2] == 0));
  w[2] = 0xabcd;
  w.grow(1u << 20);  // past the first 2 MiB chunk: remapped
  REQUIRE(w.size() == 1u << 20);
  CHECK(w[2] == 0xabcd);
  CHECK(w[(1u << 20) - 1] == 0);
  w[(1u << 20) - 1] = 7;
  w.grow(5);  // never shrinks
  CHECK(w.size() == 1u << 20);
  busyring::ids::BitWords copy = w;
  copy[2] = 1;
  CHECK(w[2] == 0xabcd);
  CHECK(copy[(1u << 20) - 1] == 7);
  busyring::ids::BitWords moved = std::move(copy);
  CHECK(moved[2] == 1);
  CHECK(copy.size() == 0);  // NOLINT: a moved-from store is empty
}
