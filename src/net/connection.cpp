// Connection table: an mmap(MAP_NORESERVE) slot array, slots constructed on first use, and the
// shard's workspace pool, attached to connections while they are busy.
#include "connection.h"

#include <sys/mman.h>

#include <cerrno>
#include <algorithm>
#include <new>

#include "busyring/base/align.h"
#include "busyring/base/assert.h"

namespace busyring::net {
namespace {

void* reserve(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

}  // namespace

ConnectionTable::~ConnectionTable() {
  if (slots_ != nullptr) {
    for (uint32_t i = 0; i < high_water_; ++i) slots_[i].~Connection();
    munmap(slots_, slots_bytes_);
  }
}

int ConnectionTable::init(uint32_t capacity, uint32_t workspaces, uint32_t max_body, uint32_t padding,
                          const http::Limits* limits) noexcept {
  BR_ASSERT(capacity > 0 && capacity < kMaxSlotsPerShard);
  BR_ASSERT(workspaces > 0 && workspaces <= capacity);
  capacity_ = capacity;
  limits_ = limits;
  slots_bytes_ = base::align_up(sizeof(Connection) * capacity, 4096);
  slots_ = static_cast<Connection*>(reserve(slots_bytes_));
  if (slots_ == nullptr) return -ENOMEM;
  const int rc = pool_.init(workspaces, limits->max_target_bytes, max_body, padding);
  if (rc < 0) return rc;
  free_.reserve(capacity);
  return 0;
}

Connection* ConnectionTable::acquire(int fd) noexcept {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else if (high_water_ < capacity_) {
    slot = high_water_++;
    Connection* c = new (&slots_[slot]) Connection();
    c->slot = slot;
    c->gen = gen_base_;
  } else {
    return nullptr;
  }
  Connection& c = slots_[slot];
  BR_ASSERT(!c.in_use() && c.in_flight == 0);
  BR_ASSERT(c.ws == nullptr && c.sched.parked_head == kNoBuffer);
  const uint32_t gen = c.gen > gen_base_ ? c.gen : gen_base_;
  c.~Connection();
  new (&c) Connection();
  c.slot = slot;
  c.gen = gen;
  c.fd = fd;
  c.phase = Phase::open;
  ++used_;
  return &c;
}

ConnectionTable::Attach ConnectionTable::attach(Connection& c) noexcept {
  BR_ASSERT(c.in_use() && c.ws == nullptr && c.queue.empty() && !c.parser.in_request());
  Workspace* w = pool_.take();
  if (w == nullptr) return Attach::none;
  // The parser sits between two requests. If the last one left llhttp paused, resuming it now
  // (with no bytes) is what the next feed would have done first: it runs the end-of-message
  // checks, which fail only when that request switched protocols. Nothing is written through
  // the old workspace's pointers.
  bool framing_error = false;
  if (c.parser_ready) {
    static const char kNothing = 0;
    size_t used = 0;
    framing_error = c.parser.feed(&kNothing, 0, used) == http::Event::error;
  }
  c.parser.init(limits_, w->staging, w->target, w->credentials);
  c.parser_ready = true;
  c.queue.init(w->queue, kPipelineDepth);
  c.ws = w;
  return framing_error ? Attach::framing_error : Attach::ok;
}

void ConnectionTable::detach(Connection& c) noexcept {
  BR_ASSERT(c.ws != nullptr && c.idle());
  pool_.give_back(*c.ws);
  c.ws = nullptr;
}

void ConnectionTable::release(Connection& c) noexcept {
  BR_ASSERT(c.in_use());
  BR_ASSERT(c.in_flight == 0);
  BR_ASSERT(c.timer_list == TimerList::none);
  BR_ASSERT(c.gate != InputGate::parked && c.sched.parked_head == kNoBuffer);
  if (c.ws != nullptr) {
    pool_.give_back(*c.ws);
    c.ws = nullptr;
  }
  c.phase = Phase::free;
  c.fd = -1;
  ++c.gen;
  --used_;
  free_.push_back(c.slot);
}

void ConnectionTable::give_back_if_idle() noexcept {
  if (used_ != 0) return;
  BR_ASSERT(pool_.in_use() == 0);
  if (high_water_ > kReturnAbove) give_back_all();
  if (pool_.high_water() > kReturnWorkspacesAbove) pool_.give_back_all();
}

// After a burst of connections has gone, give every page back: slots are rebuilt on demand.
// Generations continue above every one handed out, so a stale completion or waiter for an old
// connection can never match a new one.
void ConnectionTable::give_back_all() noexcept {
  uint32_t max_gen = gen_base_;
  for (uint32_t i = 0; i < high_water_; ++i) {
    max_gen = std::max(max_gen, slots_[i].gen);
    slots_[i].~Connection();
  }
  gen_base_ = max_gen + 1;
  madvise(slots_, slots_bytes_, MADV_DONTNEED);
  high_water_ = 0;
  free_.clear();
}

}  // namespace busyring::net
