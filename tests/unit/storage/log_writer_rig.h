// Test support for storage/log_writer: a LogWriter whose SQEs go into a fake sink, carried out
// on its own io_uring (fake_sink.h) the way a shard's loop drives it (submit what may start, one
// wait per turn), and reading a shard directory back with recover_shard.
#pragma once

#include <liburing.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "busyring/base/clock.h"
#include "busyring/storage/log_writer.h"
#include "busyring/storage/recovery.h"
#include "fake_sink.h"
#include "segment_image.h"

namespace busyring::test {

using storage::AppendPosition;
using storage::AppendStatus;
using storage::LogWriter;
using storage::ShardRecovery;
using storage::WriteDone;
using storage::WriterOptions;

inline WriterOptions small_options() {
  WriterOptions o;
  o.segment_size = 2ull << 20;
  o.dsync = false;
  o.max_record_body = 1024;
  o.buffer_bytes = 64 * 1024;
  o.buffer_count = 4;
  return o;
}

inline uint64_t now_ns() { return busyring::base::monotonic_ns(); }

// A writer on its own ring, and a loop turn like the shard's.
struct Rig {
  explicit Rig(WriterOptions o, const std::string& dir, AppendPosition start = {},
               const storage::SummaryBuilder& resumed = storage::SummaryBuilder{}) {
    o.dir = dir;
    auto st = w.open(o, start, resumed);
    INFO((st.ok() ? std::string() : st.error()));
    REQUIRE(st.ok());
    REQUIRE(w.register_buffers(&runner.ring) == 0);
  }

  void handle(const Completion& c, uint64_t at_ns) {
    if (c.op == LogOp::write || c.op == LogOp::sync) ++write_cqes;
    w.on_complete(c.op, c.seq, c.res, at_ns);
    WriteDone d;
    while (w.pop_done(d)) done.push_back(d);
  }

  // What the loop does before sleeping: queue what may start, and hand it to the ring.
  void submit(uint64_t at_ns = now_ns()) {
    w.submit(sink, at_ns);
    for (const QueuedSqe& q : sink.queued) writes += q.op == LogOp::write ? 1 : 0;
    for (const Completion& c : runner.start(sink)) handle(c, at_ns);
  }

  // Waits for at least one completion and hands every one that came back.
  void wait() {
    for (const Completion& c : runner.wait()) handle(c, now_ns());
  }

  // Starts what may start, then waits if the writer expects a completion.
  void turn(uint64_t at_ns = now_ns()) {
    submit(at_ns);
    if (w.cqes_in_flight() > 0) wait();
  }

  void drain() {
    for (int i = 0; i < 100000 && (!w.idle() || w.cqes_in_flight() > 0); ++i) turn();
    REQUIRE(w.idle());
    REQUIRE(w.cqes_in_flight() == 0);
    io_uring_cqe* cqe = nullptr;
    REQUIRE(io_uring_peek_cqe(&runner.ring, &cqe) == -EAGAIN);  // and no CQE the writer did not expect
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

  RingRunner runner;
  FakeSink sink;
  LogWriter w;
  int writes = 0;      // writes queued
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
