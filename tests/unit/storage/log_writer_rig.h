// Test support for storage/log_writer: a LogWriter on its own io_uring, driven the way a
// shard's loop drives it (writes and segment preparation, one wait per turn), and reading a
// shard directory back with recover_shard.
#pragma once

#include <liburing.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "busyring/base/clock.h"
#include "busyring/storage/log_writer.h"
#include "busyring/storage/recovery.h"
#include "segment_image.h"

namespace busyring::test {

using storage::AppendPosition;
using storage::AppendStatus;
using storage::LogWriter;
using storage::ShardRecovery;
using storage::WriteDone;
using storage::WriterOptions;

constexpr uint64_t kWriteTag = 1ull << 63;
constexpr uint64_t kPrepareTag = 1ull << 62;
constexpr uint64_t kVoidTag = 1ull << 61;
constexpr uint64_t kSyncTag = 1ull << 60;

inline WriterOptions small_options() {
  WriterOptions o;
  o.segment_size = 2ull << 20;
  o.dsync = false;
  o.max_record_body = 1024;
  o.buffer_bytes = 64 * 1024;
  o.buffer_count = 4;
  return o;
}

// A writer on its own ring, and a loop turn like the shard's.
struct Rig {
  explicit Rig(WriterOptions o, const std::string& dir, AppendPosition start = {}) {
    REQUIRE(io_uring_queue_init(64, &ring, 0) == 0);
    o.dir = dir;
    auto st = w.open(o, start);
    INFO((st.ok() ? std::string() : st.error()));
    REQUIRE(st.ok());
    REQUIRE(w.register_buffers(&ring) == 0);
  }
  ~Rig() { io_uring_queue_exit(&ring); }

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    REQUIRE(s != nullptr);
    return s;
  }

  void handle(const io_uring_cqe* cqe) {
    --in_flight;
    if (cqe->user_data & (kWriteTag | kSyncTag)) ++write_cqes;
    if (cqe->user_data & kWriteTag) {
      w.on_write(cqe->user_data & ~kWriteTag, cqe->res);
      WriteDone d;
      while (w.pop_done(d)) done.push_back(d);
    } else if (cqe->user_data & kSyncTag) {
      w.on_sync(cqe->user_data & ~kSyncTag, cqe->res);
      WriteDone d;
      while (w.pop_done(d)) done.push_back(d);
    } else if (cqe->user_data == kVoidTag) {
      w.on_void(cqe->res, busyring::base::monotonic_ns());
    } else {
      REQUIRE(cqe->user_data == kPrepareTag);
      w.on_prepare(cqe->res);
    }
  }

  // Starts what may start, then waits for at least one completion if anything is in flight.
  void turn() {
    while (w.write_ready(busyring::base::monotonic_ns())) {
      if (io_uring_sq_space_left(&ring) < w.sqes_per_write()) io_uring_submit(&ring);
      io_uring_sqe* s = sqe();
      io_uring_sqe* f = w.sqes_per_write() == 2 ? sqe() : nullptr;
      const uint64_t batch = w.prep_write(s, f);
      io_uring_sqe_set_data64(s, kWriteTag | batch);
      if (f != nullptr) io_uring_sqe_set_data64(f, kSyncTag | batch);
      in_flight += static_cast<int>(w.cqes_per_write());
      ++writes;
    }
    if (w.void_ready(busyring::base::monotonic_ns())) {
      io_uring_sqe* s = sqe();
      w.prep_void(s);
      io_uring_sqe_set_data64(s, kVoidTag);
      ++in_flight;
    }
    if (w.prepare_ready(busyring::base::monotonic_ns())) {
      io_uring_sqe* s = sqe();
      w.prep_prepare(s);
      io_uring_sqe_set_data64(s, kPrepareTag);
      ++in_flight;
    }
    REQUIRE(io_uring_submit(&ring) >= 0);
    if (in_flight == 0) return;
    io_uring_cqe* cqe = nullptr;
    REQUIRE(io_uring_wait_cqe(&ring, &cqe) == 0);
    handle(cqe);
    io_uring_cqe_seen(&ring, cqe);
    while (io_uring_peek_cqe(&ring, &cqe) == 0) {
      handle(cqe);
      io_uring_cqe_seen(&ring, cqe);
    }
  }

  void drain() {
    for (int i = 0; i < 100000 && (!w.idle() || in_flight > 0); ++i) turn();
    REQUIRE(w.idle());
    REQUIRE(in_flight == 0);
  }

  // Appends, turning the loop while the writer says busy.
  uint64_t append(uint64_t id, const std::string& body, uint64_t arrival_ns) {
    uint64_t batch = 0;
    for (int i = 0; i < 100000; ++i) {
      const AppendStatus st =
          w.append(id, arrival_ns, body.data(), static_cast<uint32_t>(body.size()), batch);
      if (st == AppendStatus::ok) return batch;
      REQUIRE(st == AppendStatus::busy);
      turn();
    }
    FAIL("the writer stayed busy");
    return 0;
  }

  io_uring ring{};
  LogWriter w;
  int in_flight = 0;
  int writes = 0;      // writes started by turn()
  int write_cqes = 0;  // CQEs of writes and their fdatasyncs
  std::vector<WriteDone> done;
};

struct ReadBack {
  CollectingVisitor v;
  ShardRecovery rec;
};

inline ReadBack read_back(const std::string& dir) {
  ReadBack rb;
  auto r = storage::recover_shard(dir, true, &rb.v);
  INFO((r.ok() ? std::string() : r.error()));
  REQUIRE(r.ok());
  rb.rec = r.value();
  return rb;
}

}  // namespace busyring::test
