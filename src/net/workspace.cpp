// Workspace pool: one mmap(MAP_NORESERVE) region cut into equal workspaces, a LIFO free list.
#include "workspace.h"

#include <sys/mman.h>

#include <cerrno>

#include "busyring/base/align.h"
#include "busyring/base/assert.h"

namespace busyring::net {

WorkspacePool::~WorkspacePool() {
  if (region_ != nullptr) munmap(region_, region_bytes_);
}

int WorkspacePool::init(uint32_t count, uint32_t max_target, uint32_t max_body, uint32_t padding) noexcept {
  BR_ASSERT(count > 0 && region_ == nullptr);
  // Layout of one workspace: target, credentials, pipeline entries (the first ones share the
  // target's page, so a one-request workspace touches two pages: this one and the output
  // buffer's first), output buffer, backlog, staging.
  credentials_off_ = base::align_up(max_target, 64);
  queue_off_ = base::align_up(credentials_off_ + http::kCredentialsBytes, 64);
  out_off_ = base::align_up(queue_off_ + kPipelineDepth * sizeof(http::Pending), 4096);
  backlog_off_ = out_off_ + kOutBytes;
  staging_off_ = backlog_off_ + kBacklogBytes;
  stride_ = base::align_up(staging_off_ + max_body + padding, 4096);
  region_bytes_ = stride_ * count;
  void* p = mmap(nullptr, region_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return -ENOMEM;
  region_ = static_cast<char*>(p);
  count_ = count;
  all_.resize(count);
  for (uint32_t i = 0; i < count; ++i) {
    char* base = region_ + stride_ * i;
    Workspace& w = all_[i];
    w.target = base;
    w.credentials = base + credentials_off_;
    w.queue = reinterpret_cast<http::Pending*>(base + queue_off_);
    w.out = base + out_off_;
    w.backlog = base + backlog_off_;
    w.staging = base + staging_off_;
    w.index = i;
  }
  free_.reserve(count);
  return 0;
}

Workspace* WorkspacePool::take() noexcept {
  uint32_t i;
  if (!free_.empty()) {
    i = free_.back();
    free_.pop_back();
  } else if (high_water_ < count_) {
    i = high_water_++;
  } else {
    return nullptr;
  }
  ++in_use_;
  return &all_[i];
}

void WorkspacePool::give_back(Workspace& w) noexcept {
  BR_ASSERT(in_use_ > 0 && w.index < high_water_ && &all_[w.index] == &w);
  --in_use_;
  free_.push_back(w.index);
}

void WorkspacePool::trim_backlog(Workspace& w) noexcept {
  if (w.backlog_peak <= kBacklogReleaseBytes) return;
  madvise(w.backlog, kBacklogBytes, MADV_DONTNEED);
  w.backlog_peak = 0;
}

void WorkspacePool::give_back_all() noexcept {
  BR_ASSERT(in_use_ == 0);
  if (high_water_ == 0) return;
  madvise(region_, stride_ * high_water_, MADV_DONTNEED);
  for (uint32_t i = 0; i < high_water_; ++i) all_[i].backlog_peak = 0;
  high_water_ = 0;
  free_.clear();
}

}  // namespace busyring::net
