// A connection's pipelining queue: one entry per request, in request order. Entries become
// ready out of order (a 404 at once, a 201 when its log write completes) but leave only from
// the head, so responses go out in request order. Fixed capacity; storage owned by the caller.
#pragma once

#include <cstdint>

#include "busyring/base/assert.h"

namespace busyring::http {

enum class PendingState : uint8_t { waiting, ready };

// Which body a ready entry renders; the meaning of `detail` depends on it.
enum class PendingKind : uint8_t { created, error, health, metrics, status_page, interim_continue };

struct Pending {
  uint64_t value = 0;     // created: the id
  uint64_t start_ns = 0;  // first byte of the request (latency)
  uint16_t status = 0;
  PendingState state = PendingState::waiting;
  PendingKind kind = PendingKind::error;
  uint8_t detail = 0;     // error: index into the api error table
  bool keep_alive = true;
  bool http10 = false;
  uint8_t route = 0;      // metrics::Route, for the request counters
  bool head = false;      // a HEAD request: headers only, no body
};
static_assert(sizeof(Pending) == 32);

class PipelineQueue {
 public:
  void init(Pending* slots, uint32_t capacity) noexcept {
    BR_ASSERT(capacity > 0 && (capacity & (capacity - 1)) == 0);
    slots_ = slots;
    mask_ = capacity - 1;
    head_ = tail_ = 0;
  }
  bool full() const noexcept { return tail_ - head_ > mask_; }
  bool empty() const noexcept { return tail_ == head_; }
  uint32_t size() const noexcept { return tail_ - head_; }
  bool contains(uint32_t seq) const noexcept { return seq - head_ < tail_ - head_; }
  // Returns the new entry's sequence (stable until popped).
  uint32_t push(const Pending& p) noexcept {
    BR_ASSERT(!full());
    slots_[tail_ & mask_] = p;
    return tail_++;
  }
  Pending& at(uint32_t seq) noexcept {
    BR_DEBUG_ASSERT(seq - head_ < tail_ - head_);
    return slots_[seq & mask_];
  }
  Pending& front() noexcept {
    BR_ASSERT(!empty());
    return slots_[head_ & mask_];
  }
  void pop() noexcept {
    BR_ASSERT(!empty());
    ++head_;
  }

 private:
  Pending* slots_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t head_ = 0;
  uint32_t tail_ = 0;
};

}  // namespace busyring::http
