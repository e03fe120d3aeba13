// net/slot_list: the intrusive FIFO of slots behind the workspace wait list and the timeout
// lists. Order is arrival order; an element leaves from anywhere in O(1); one element can be
// on several lists at once through separate links, each list touching only its own.
#include "net/slot_list.h"

#include <catch2/catch.hpp>

#include <vector>

using namespace busyring::net;

namespace {

struct Element {
  SlotLinks a;
  SlotLinks b;
};

struct LinksA {
  std::vector<Element>* all;
  SlotLinks& operator()(uint32_t slot) const noexcept { return (*all)[slot].a; }
};
struct LinksB {
  std::vector<Element>* all;
  SlotLinks& operator()(uint32_t slot) const noexcept { return (*all)[slot].b; }
};

template <typename List>
std::vector<uint32_t> walk(const List& list, const std::vector<Element>& all, SlotLinks Element::*links) {
  std::vector<uint32_t> out;
  for (uint32_t s = list.front(); s != kNoSlot; s = (all[s].*links).next) out.push_back(s);
  return out;
}

}  // namespace

TEST_CASE("a slot list is a FIFO that elements leave from anywhere", "[net][slot_list]") {
  std::vector<Element> all(8);
  SlotList<LinksA> list(LinksA{&all});
  CHECK(list.empty());
  CHECK(list.front() == kNoSlot);
  for (uint32_t s : {5u, 1u, 7u, 3u}) list.push_back(s);
  CHECK(list.size() == 4);
  CHECK(list.front() == 5);
  CHECK(walk(list, all, &Element::a) == std::vector<uint32_t>{5, 1, 7, 3});

  list.remove(7);  // from the middle
  CHECK(walk(list, all, &Element::a) == std::vector<uint32_t>{5, 1, 3});
  CHECK(all[7].a.prev == kNoSlot);
  CHECK(all[7].a.next == kNoSlot);
  list.remove(5);  // the head
  CHECK(list.front() == 1);
  list.remove(3);  // the tail
  list.push_back(7);  // back in, at the end
  CHECK(walk(list, all, &Element::a) == std::vector<uint32_t>{1, 7});
  CHECK(list.size() == 2);
  list.remove(1);
  list.remove(7);
  CHECK(list.empty());
  CHECK(list.size() == 0);
  CHECK(list.front() == kNoSlot);
}

TEST_CASE("an element can be on two slot lists through separate links", "[net][slot_list]") {
  std::vector<Element> all(4);
  SlotList<LinksA> first(LinksA{&all});
  SlotList<LinksB> second(LinksB{&all});
  for (uint32_t s : {0u, 1u, 2u}) first.push_back(s);
  for (uint32_t s : {2u, 0u}) second.push_back(s);
  first.remove(0);
  CHECK(walk(first, all, &Element::a) == std::vector<uint32_t>{1, 2});
  CHECK(walk(second, all, &Element::b) == std::vector<uint32_t>{2, 0});  // untouched
  second.remove(2);
  CHECK(walk(first, all, &Element::a) == std::vector<uint32_t>{1, 2});
  CHECK(walk(second, all, &Element::b) == std::vector<uint32_t>{0});
}
