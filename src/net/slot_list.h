// An intrusive FIFO of connection slots: each element carries its own links (SlotLinks) for
// the list it may be on, so joining, leaving from anywhere and taking the oldest are O(1) and
// allocate nothing. One shape for every such list of a shard: the workspace wait list and the
// three timeout lists.
#pragma once

#include <cstdint>

#include "busyring/base/assert.h"

namespace busyring::net {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

// An element's place in one list (kNoSlot: no neighbour on that side).
struct SlotLinks {
  uint32_t prev = kNoSlot;
  uint32_t next = kNoSlot;
};

// LinksOf: a callable taking a slot and returning that element's SlotLinks& for this list.
// Membership itself is the caller's to know (it is part of the element's state); remove()
// checks that the neighbours agree.
template <typename LinksOf>
class SlotList {
 public:
  explicit SlotList(LinksOf links_of) noexcept : links_of_(links_of) {}

  bool empty() const noexcept { return head_ == kNoSlot; }
  uint32_t size() const noexcept { return size_; }
  // The oldest element, kNoSlot when empty.
  uint32_t front() const noexcept { return head_; }

  void push_back(uint32_t slot) noexcept {
    BR_ASSERT(slot != kNoSlot);
    SlotLinks& l = links_of_(slot);
    l.prev = tail_;
    l.next = kNoSlot;
    if (tail_ != kNoSlot) links_of_(tail_).next = slot;
    else head_ = slot;
    tail_ = slot;
    ++size_;
  }

  // slot must be on this list.
  void remove(uint32_t slot) noexcept {
    BR_ASSERT(size_ > 0);
    SlotLinks& l = links_of_(slot);
    if (l.prev != kNoSlot) {
      BR_ASSERT(links_of_(l.prev).next == slot);
      links_of_(l.prev).next = l.next;
    } else {
      BR_ASSERT(head_ == slot);
      head_ = l.next;
    }
    if (l.next != kNoSlot) {
      BR_ASSERT(links_of_(l.next).prev == slot);
      links_of_(l.next).prev = l.prev;
    } else {
      BR_ASSERT(tail_ == slot);
      tail_ = l.prev;
    }
    l.prev = l.next = kNoSlot;
    --size_;
  }

 private:
  LinksOf links_of_;
  uint32_t head_ = kNoSlot;
  uint32_t tail_ = kNoSlot;
  uint32_t size_ = 0;
};

}  // namespace busyring::net
