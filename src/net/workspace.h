// A shard's pool of connection workspaces: the heavy per-connection state (request target,
// pipeline entries, output buffer, input backlog, body staging) that a connection needs only
// while it is busy, from the first byte of a request until its last answer has been sent.
// A connection takes one when bytes arrive and gives it back when it goes idle (nothing
// buffered, no answer pending, the parser at a message boundary), so an idle keep-alive
// connection costs its small Connection slot and nothing more.
//
// The pool is one lazily committed region (MAP_NORESERVE): a workspace's pages become resident
// when first touched and then stay resident while it sits in the pool (a hot pool, reused LIFO,
// so the same few workspaces serve a steady load and no request pays a page fault or a
// syscall). Resident memory is bounded by how many connections were busy at once, not by how
// many were ever used. Once every connection of the shard is gone after a large burst, the
// pages are given back (give_back_all).
//
// Size: see workspaces_for(). When every workspace is busy, a connection with new bytes waits
// for one (the shard stops reading it); it is never refused and nothing is allocated. Meanwhile
// requests in progress for over a tenth of --request-timeout are timed out (408), oldest first,
// so that slow clients cannot hold the pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "busyring/http/pipeline.h"

namespace busyring::net {

inline constexpr uint32_t kPipelineDepth = 256;  // requests queued per connection
// Response bytes gathered per send; also the largest single response (/metrics with its
// per-shard series, the status page). Address space like the rest of the workspace: a plain
// answer touches its first page only.
inline constexpr uint32_t kOutBytes = 64 * 1024;
// The shard's receive buffer ring: kRecvBuffers buffers of kRecvBufferBytes.
inline constexpr uint32_t kRecvBuffers = 1024;
inline constexpr uint32_t kRecvBufferBytes = 8192;
// Input received but not parsed yet (the pipeline was full, or a request is held). The receive
// is cancelled as soon as parsing stops, but a multishot receive may already have filled every
// buffer of the ring for this connection by then, so the backlog can hold a whole ring. It is
// address space (MAP_NORESERVE); only what a connection really backs up becomes resident, and
// a large backlog is given back (MADV_DONTNEED) once drained.
inline constexpr uint32_t kBacklogBytes = kRecvBuffers * kRecvBufferBytes + 64 * 1024;
inline constexpr uint32_t kBacklogReleaseBytes = 256 * 1024;

// At most this many workspaces per shard. A connection is busy from the first byte of a request
// to the send of its answer (well under a millisecond with --ack=memory, a log write of ~0.5 ms
// with --ack=durable), so 1,024 busy at once is ~1M requests/s per shard at 1 ms, or 1,024
// closed-loop clients per shard; past that, clients wait their turn. A workspace in use is
// typically 2-3 touched pages (8-12 KiB), at most ~100 KiB with a 64 KiB body spanning receives
// plus a backlog of up to kBacklogReleaseBytes, so the pool stays near 10 MiB per shard under a
// real load and can never exceed a few hundred MiB, however many connections come and go.
inline constexpr uint32_t kMaxWorkspaces = 1024;

// Workspaces per shard for --max-connections: one per connection up to kMaxWorkspaces (every
// connection of the shard can be busy at once), capped there.
constexpr uint32_t workspaces_for(uint32_t max_connections) noexcept {
  return max_connections < kMaxWorkspaces ? max_connections : kMaxWorkspaces;
}

struct Workspace {
  char* target = nullptr;                // the request target while its head is parsed
  http::Pending* queue = nullptr;        // kPipelineDepth pipeline entries
  char* out = nullptr;                   // kOutBytes of rendered responses
  char* backlog = nullptr;               // kBacklogBytes of input not parsed yet
  char* staging = nullptr;               // a body spanning receives, + padding
  uint32_t backlog_peak = 0;             // the most the backlog held since it was last trimmed
  uint32_t index = 0;
};

class WorkspacePool {
 public:
  WorkspacePool() = default;
  WorkspacePool(const WorkspacePool&) = delete;
  WorkspacePool& operator=(const WorkspacePool&) = delete;
  ~WorkspacePool();

  // Reserves `count` workspaces: targets of max_target bytes, staging of max_body + padding.
  // 0 or -errno.
  [[nodiscard]] int init(uint32_t count, uint32_t max_target, uint32_t max_body, uint32_t padding) noexcept;

  // The most recently returned workspace (its pages are warm), or nullptr when all are in use.
  Workspace* take() noexcept;
  void give_back(Workspace& w) noexcept;
  // Gives the pages of a drained, once-large backlog back to the kernel.
  void trim_backlog(Workspace& w) noexcept;
  // With none in use: returns every page to the kernel (after a burst of busy connections).
  void give_back_all() noexcept;

  uint32_t capacity() const noexcept { return count_; }
  uint32_t in_use() const noexcept { return in_use_; }
  // Workspaces whose pages may be resident (touched since the last give_back_all).
  uint32_t high_water() const noexcept { return high_water_; }

 private:
  char* region_ = nullptr;
  size_t region_bytes_ = 0;
  size_t stride_ = 0;
  size_t queue_off_ = 0, out_off_ = 0, backlog_off_ = 0, staging_off_ = 0;
  uint32_t count_ = 0;
  uint32_t high_water_ = 0;
  uint32_t in_use_ = 0;
  std::vector<Workspace> all_;
  std::vector<uint32_t> free_;  // LIFO
};

}  // namespace busyring::net
