// Connection slots of one shard. The light part (Connection) sits in a fixed array; each slot's
// heavy part (target, pipeline entries, output buffer, input backlog, body staging) sits in one
// lazily-committed region, so memory is reserved at start but only pages a connection touches
// become resident. Slots are reused LIFO (their pages stay warm). A slot's generation bumps
// when it is released, so a late CQE for the previous connection is recognised as stale.
//
// Connection life:  open -> (reading <-> backlogged) -> close_after | stop -> closing -> free
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "busyring/api/handler.h"
#include "busyring/http/parser.h"
#include "busyring/http/pipeline.h"

namespace busyring::net {

inline constexpr uint32_t kNoSlot = UINT32_MAX;
inline constexpr uint32_t kMaxSlotsPerShard = 1u << 24;  // slot field of user_data
inline constexpr uint32_t kPipelineDepth = 256;  // requests queued per connection
inline constexpr uint32_t kOutBytes = 16 * 1024;  // response bytes gathered per send
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

enum class TimerList : uint8_t { none, idle, request, linger, count };

struct Connection {
  int fd = -1;
  uint32_t gen = 0;
  uint32_t slot = 0;
  uint16_t in_flight = 0;     // SQEs naming this slot whose final CQE has not arrived
  bool open = false;
  bool recv_armed = false;
  bool send_in_flight = false;
  bool cancel_sent = false;
  bool stop_reading = false;  // input is dropped from now on
  bool close_after = false;   // close once every queued response is sent
  bool linger = false;        // ... with a half-close first (input may be unread)
  bool draining = false;      // half-closed, waiting for the peer's EOF
  bool closing = false;       // cancel sent; freed when in_flight reaches 0
  bool dirty = false;         // on the shard's flush list
  bool rearm = false;         // on the shard's re-arm list
  bool recv_paused = false;   // backlog full: receive cancelled until it drains
  bool held = false;          // a complete request waits for room in the log (backpressure)
  TimerList timer = TimerList::none;
  uint32_t timer_prev = kNoSlot;
  uint32_t timer_next = kNoSlot;
  uint64_t deadline_ns = 0;
  uint64_t request_start_ns = 0;
  uint32_t out_len = 0;
  uint32_t out_sent = 0;
  uint32_t backlog_len = 0;
  uint32_t backlog_peak = 0;  // the most it held since it was last given back
  api::HeadVerdict verdict;
  http::Parser parser;
  http::PipelineQueue queue;
  // Heavy part.
  char* target = nullptr;
  char* out = nullptr;
  char* backlog = nullptr;
  char* staging = nullptr;
};

class ConnectionTable {
 public:
  ConnectionTable() = default;
  ConnectionTable(const ConnectionTable&) = delete;
  ConnectionTable& operator=(const ConnectionTable&) = delete;
  ~ConnectionTable();

  // Reserves `capacity` slots; staging holds a body of max_body plus `padding`. 0 or -errno.
  [[nodiscard]] int init(uint32_t capacity, uint32_t max_body, uint32_t padding,
                         const http::Limits* limits) noexcept;

  // A fresh slot (parser and queue reset), or nullptr when all are taken.
  Connection* acquire(int fd) noexcept;
  void release(Connection& c) noexcept;
  // Gives the pages of a drained, once-large backlog back to the kernel.
  void trim_backlog(Connection& c) noexcept;
  static constexpr uint32_t kReturnAbove = 1024;  // slots ever used before an idle table is returned

  Connection& at(uint32_t slot) noexcept { return slots_[slot]; }
  uint32_t used() const noexcept { return used_; }
  uint32_t high_water() const noexcept { return high_water_; }

 private:
  Connection* slots_ = nullptr;
  char* heavy_ = nullptr;
  size_t slots_bytes_ = 0;
  size_t heavy_bytes_ = 0;
  size_t heavy_stride_ = 0;
  size_t out_off_ = 0, backlog_off_ = 0, staging_off_ = 0, queue_off_ = 0;
  uint32_t capacity_ = 0;
  uint32_t high_water_ = 0;
  uint32_t used_ = 0;
  uint32_t gen_base_ = 0;  // generations restart above this after the table is given back
  const http::Limits* limits_ = nullptr;
  void give_back_all() noexcept;
  std::vector<uint32_t> free_;
};

}  // namespace busyring::net
