// net/log_port: the shard's port to its log writer. Responses waiting for a batch are released
// when it completes, in append order, with the write's result; a batch is counted once (records,
// bytes, flushes, or a failure); the ring sink names each log SQE with the shard's Op. Driven
// through a fake SQE sink with the completions handed back by hand.
#include "net/log_port.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "../storage/fake_sink.h"
#include "../support/temp_dir.h"
#include "net/user_data.h"

using namespace busyring;
using namespace busyring::net;
using busyring::test::FakeSink;
using busyring::test::QueuedSqe;

namespace {

struct PortRig {
  PortRig() : port(log, metrics) {
    storage::WriterOptions o;
    o.dir = tmp.sub("shard-00");
    o.segment_size = 1 << 20;
    o.dsync = false;
    o.max_record_body = 256;
    o.buffer_bytes = 4096;
    o.buffer_count = 4;
    REQUIRE(log.open(o, storage::AppendPosition{}).ok());
    port.init(100);
  }
  uint64_t append(uint64_t id) {
    uint64_t batch = 0;
    REQUIRE(log.append(id, 0, "{}", 2, batch) == storage::AppendStatus::ok);
    return batch;
  }
  // Completes the oldest queued SQE with res (or the full length of its write).
  void complete(int res, std::vector<std::pair<uint32_t, int>>& released) {
    REQUIRE_FALSE(sink.queued.empty());
    const QueuedSqe q = sink.queued.front();
    sink.queued.pop_front();
    port.on_complete(q.op, q.seq, res == 0 ? static_cast<int>(q.sqe.len) : res, 5'000'000,
                     [&](const LogPort::Waiter& w, int r) { released.push_back({w.seq, r}); });
  }

  test::TempDir tmp;
  storage::LogWriter log;
  metrics::ShardMetrics metrics;
  LogPort port;
  FakeSink sink;
};

}  // namespace

TEST_CASE("waiters are released in append order when their batch is written", "[net][log_port]") {
  PortRig r;
  for (uint32_t seq = 0; seq < 3; ++seq) r.port.await({r.append(seq + 1), 7, 1, seq});
  r.port.submit(r.sink, 1'000'000);  // batch 0's write
  REQUIRE(r.sink.queued.size() == 1);
  for (uint32_t seq = 3; seq < 5; ++seq) r.port.await({r.append(seq + 1), 7, 1, seq});  // batch 1
  CHECK(r.port.waiting() == 5);
  CHECK_FALSE(r.port.idle());

  std::vector<std::pair<uint32_t, int>> released;
  r.complete(0, released);
  CHECK(released == std::vector<std::pair<uint32_t, int>>{{0, 0}, {1, 0}, {2, 0}});
  CHECK(metrics::read(r.metrics.records_written) == 3);
  CHECK(metrics::read(r.metrics.flushes) == 1);
  CHECK(metrics::read(r.metrics.bytes_written) % r.log.dio_align() == 0);

  r.port.submit(r.sink, 2'000'000);
  released.clear();
  r.complete(0, released);
  CHECK(released == std::vector<std::pair<uint32_t, int>>{{3, 0}, {4, 0}});
  CHECK(metrics::read(r.metrics.records_written) == 5);
  CHECK(r.port.idle());
}

TEST_CASE("the waiters of a failed write are released with its error, and it is counted as failed",
          "[net][log_port]") {
  PortRig r;
  r.port.await({r.append(1), 3, 9, 0});
  r.port.await({r.append(2), 3, 9, 1});
  r.port.submit(r.sink, 0);
  std::vector<std::pair<uint32_t, int>> released;
  r.complete(-EIO, released);
  CHECK(released == std::vector<std::pair<uint32_t, int>>{{0, -EIO}, {1, -EIO}});
  CHECK(metrics::read(r.metrics.flush_failures) == 1);
  CHECK(metrics::read(r.metrics.records_written) == 0);
  CHECK_FALSE(r.port.idle());  // the failed write is voided on disk first
  r.port.submit(r.sink, 0);
  REQUIRE(r.sink.queued.size() == 1);
  CHECK(r.sink.queued[0].op == storage::LogOp::void_mark);
}

TEST_CASE("the ring sink names every log SQE with the shard's op and the sequence", "[net][log_port]") {
  io_uring ring;
  REQUIRE(io_uring_queue_init(8, &ring, 0) == 0);
  RingSink sink(&ring);
  const std::pair<storage::LogOp, Op> pairs[] = {{storage::LogOp::write, Op::log_write},
                                                 {storage::LogOp::sync, Op::log_sync},
                                                 {storage::LogOp::prepare, Op::log_prepare},
                                                 {storage::LogOp::void_mark, Op::log_void}};
  uint64_t seq = 41;
  for (const auto& [log_op, op] : pairs) {
    io_uring_sqe* s = sink.sqe(log_op, ++seq);
    io_uring_prep_nop(s);  // prep leaves user_data as the sink set it
    const UserData ud = decode(s->user_data);
    CHECK(ud.op == op);
    CHECK(ud.seq == seq);
  }
  sink.reserve(8);  // four queued: makes room by submitting them
  CHECK(io_uring_sq_space_left(&ring) == 8);
  io_uring_queue_exit(&ring);
}
