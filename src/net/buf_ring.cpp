// Provided-buffer ring: mmap'd ring + buffers, registered with IORING_REGISTER_PBUF_RING.
#include "buf_ring.h"

#include <sys/mman.h>

#include <cerrno>

#include "busyring/base/align.h"
#include "busyring/base/assert.h"

namespace busyring::net {
namespace {
constexpr size_t kHugePage = 2u << 20;
}  // namespace

BufRing::~BufRing() {
  if (br_ != nullptr) {
    io_uring_unregister_buf_ring(ring_, group_);
    munmap(br_, ring_bytes_);
  }
  if (buffers_ != nullptr) munmap(buffers_, buffers_bytes_);
}

int BufRing::setup(io_uring* ring, uint16_t group, uint32_t entries, uint32_t buffer_bytes,
                   uint32_t padding) noexcept {
  BR_ASSERT(base::is_pow2(entries) && entries <= 32768);
  ring_ = ring;
  group_ = group;
  entries_ = entries;
  buffer_bytes_ = buffer_bytes;
  stride_ = base::align_up(buffer_bytes + padding, 64);
  ring_bytes_ = base::align_up(entries * sizeof(io_uring_buf), 4096);
  void* r = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) return -errno;
  br_ = static_cast<io_uring_buf_ring*>(r);
  // The kernel hands the buffers out in ring order, so a busy shard cycles through all of them
  // (8 MiB): on 4 KiB pages nearly every receive copies into a page the TLB no longer maps.
  // On 2 MiB pages (transparent huge pages, where the system allows them) the whole ring is a
  // handful of TLB entries. Mapped 2 MiB aligned; without THP it is ordinary memory.
  buffers_bytes_ = base::align_up(stride_ * entries, kHugePage);
  void* b = mmap(nullptr, buffers_bytes_ + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (b == MAP_FAILED) return -errno;
  char* start = static_cast<char*>(b);
  const size_t lead = base::align_up(reinterpret_cast<uintptr_t>(start), kHugePage) - reinterpret_cast<uintptr_t>(start);
  if (lead > 0) munmap(start, lead);
  munmap(start + lead + buffers_bytes_, kHugePage - lead);  // the tail: never empty (lead < kHugePage)
  buffers_ = start + lead;
  (void)madvise(buffers_, buffers_bytes_, MADV_HUGEPAGE);  // a hint: EINVAL without THP is fine
  // Made resident now, a fixed cost of the shard: otherwise a receive would fault in 2 MiB at a
  // time (the zeroing on the loop thread), and the process's memory would jump by whole huge
  // pages under the first load, unrelated to how many connections it holds.
  for (size_t off = 0; off < buffers_bytes_; off += 4096) buffers_[off] = 0;
  io_uring_buf_ring_init(br_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(br_);
  reg.ring_entries = entries;
  reg.bgid = group;
  const int rc = io_uring_register_buf_ring(ring, &reg, 0);
  if (rc < 0) {
    munmap(br_, ring_bytes_);
    br_ = nullptr;
    return rc;
  }
  for (uint32_t i = 0; i < entries; ++i) give_back(static_cast<uint16_t>(i));
  publish();
  return 0;
}

void BufRing::give_back(uint16_t bid) noexcept {
  BR_DEBUG_ASSERT(bid < entries_);
  io_uring_buf_ring_add(br_, buffer(bid), buffer_bytes_, bid, io_uring_buf_ring_mask(entries_), pending_);
  ++pending_;
  ++free_;
}

void BufRing::publish() noexcept {
  if (pending_ == 0) return;
  io_uring_buf_ring_advance(br_, pending_);
  pending_ = 0;
}

}  // namespace busyring::net
