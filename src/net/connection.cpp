// Connection table: mmap(MAP_NORESERVE) regions, slots constructed on first use.
#include "busyring/net/connection.h"

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
  if (heavy_ != nullptr) munmap(heavy_, heavy_bytes_);
}

int ConnectionTable::init(uint32_t capacity, uint32_t max_body, uint32_t padding,
                          const http::Limits* limits) noexcept {
  BR_ASSERT(capacity > 0 && capacity < kMaxSlotsPerShard);
  capacity_ = capacity;
  limits_ = limits;
  queue_off_ = base::align_up(limits->max_target_bytes, 64);
  out_off_ = base::align_up(queue_off_ + kPipelineDepth * sizeof(http::Pending), 4096);
  backlog_off_ = out_off_ + kOutBytes;
  staging_off_ = backlog_off_ + kBacklogBytes;
  heavy_stride_ = base::align_up(staging_off_ + max_body + padding, 4096);
  slots_bytes_ = base::align_up(sizeof(Connection) * capacity, 4096);
  heavy_bytes_ = heavy_stride_ * capacity;
  slots_ = static_cast<Connection*>(reserve(slots_bytes_));
  heavy_ = static_cast<char*>(reserve(heavy_bytes_));
  if (slots_ == nullptr || heavy_ == nullptr) return -ENOMEM;
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
    char* h = heavy_ + heavy_stride_ * slot;
    c->target = h;
    c->out = h + out_off_;
    c->backlog = h + backlog_off_;
    c->staging = h + staging_off_;
  } else {
    return nullptr;
  }
  Connection& c = slots_[slot];
  BR_ASSERT(!c.open && c.in_flight == 0);
  const uint32_t gen = c.gen > gen_base_ ? c.gen : gen_base_;
  char* target = c.target;
  char* out = c.out;
  char* backlog = c.backlog;
  char* staging = c.staging;
  c.~Connection();
  new (&c) Connection();
  c.slot = slot;
  c.gen = gen;
  c.target = target;
  c.out = out;
  c.backlog = backlog;
  c.staging = staging;
  c.fd = fd;
  c.open = true;
  c.parser.init(limits_, staging, target);
  c.queue.init(reinterpret_cast<http::Pending*>(heavy_ + heavy_stride_ * slot + queue_off_), kPipelineDepth);
  ++used_;
  return &c;
}

void ConnectionTable::release(Connection& c) noexcept {
  BR_ASSERT(c.open);
  BR_ASSERT(c.in_flight == 0);
  BR_ASSERT(c.timer == TimerList::none);
  c.open = false;
  c.fd = -1;
  ++c.gen;
  --used_;
  free_.push_back(c.slot);
  if (used_ == 0 && high_water_ > kReturnAbove) give_back_all();
}

void ConnectionTable::trim_backlog(Connection& c) noexcept {
  if (c.backlog_peak <= kBacklogReleaseBytes) return;
  madvise(c.backlog, kBacklogBytes, MADV_DONTNEED);
  c.backlog_peak = 0;
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
  madvise(heavy_, heavy_bytes_, MADV_DONTNEED);
  high_water_ = 0;
  free_.clear();
}

}  // namespace busyring::net
