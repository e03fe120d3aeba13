// storage/log_writer: the group-commit writer driven through a fake SQE sink run on a real
// io_uring (see log_writer_rig.h), then read back with recover_shard: order and ids, group commit, busy
// buffers, segment switches, reopening at the recovered position, O_DSYNC.
#include "busyring/storage/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdint>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/base/align.h"
#include "busyring/storage/segment.h"
#include "log_writer_rig.h"

using namespace busyring::storage;
using namespace busyring::test;

TEST_CASE("appended records are read back by recovery in order with their ids", "[storage]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  const uint64_t n = 2000;
  {
    Rig rig(small_options(), dir);
    for (uint64_t id = 1; id <= n; ++id) {
      rig.append(id, body_for(id), 1'000'000 + id);
      if (id % 50 == 0) rig.turn();
    }
    rig.drain();
    uint64_t records = 0, bytes = 0;
    for (size_t i = 0; i < rig.done.size(); ++i) {
      REQUIRE(rig.done[i].batch == i);  // released in batch order
      REQUIRE(rig.done[i].res == 0);
      REQUIRE(rig.done[i].bytes % rig.w.dio_align() == 0);
      records += rig.done[i].records;
      bytes += rig.done[i].bytes;
    }
    CHECK(records == n);
    CHECK(rig.done.size() > 1);
    CHECK(rig.w.healthy());
    ReadBack rb = read_back(dir);
    CHECK(rb.rec.records == n);
    CHECK(rb.rec.torn_tails == 0);
    CHECK(rb.rec.position.segment == 0);
    CHECK(rb.rec.position.offset == bytes);  // every write padded; the next starts after it
    REQUIRE(rb.v.ids.size() == n);
    for (uint64_t id = 1; id <= n; ++id) {
      REQUIRE(rb.v.ids[id - 1] == id);
      REQUIRE(rb.v.bodies[id - 1] == body_for(id));
      REQUIRE(rb.v.arrivals[id - 1] == 1'000'000 + id);
    }
  }
}

TEST_CASE("records appended while a write is in flight go to the next batch", "[storage]") {
  TempDir tmp;
  Rig rig(small_options(), tmp.sub("shard-00"));
  uint64_t batch = 99;
  for (uint64_t id = 1; id <= 3; ++id) {
    REQUIRE(rig.w.append(id, 0, "abc", 3, batch) == AppendStatus::ok);
    CHECK(batch == 0);
  }
  rig.w.submit(rig.sink, 0);
  REQUIRE(rig.sink.queued.size() == 1);
  CHECK(rig.sink.queued[0].op == LogOp::write);
  CHECK(rig.sink.queued[0].seq == 0);
  CHECK(rig.sink.queued[0].sqe.opcode == IORING_OP_WRITE_FIXED);
  REQUIRE(rig.runner.start(rig.sink).empty());
  CHECK(rig.w.batches_in_flight() == 1);

  for (uint64_t id = 4; id <= 5; ++id) {
    REQUIRE(rig.w.append(id, 0, "defg", 4, batch) == AppendStatus::ok);
    CHECK(batch == 1);
  }
  rig.w.submit(rig.sink, 0);
  CHECK(rig.sink.queued.empty());  // one write in flight at a time
  CHECK_FALSE(rig.w.idle());

  rig.wait();
  REQUIRE(rig.done.size() == 1);
  CHECK(rig.done[0].batch == 0);
  CHECK(rig.done[0].res == 0);
  CHECK(rig.done[0].records == 3);
  CHECK(rig.done[0].bytes == busyring::base::align_up(3 * record_bytes(3), rig.w.dio_align()));

  rig.drain();
  REQUIRE(rig.done.size() == 2);
  CHECK(rig.done[1].batch == 1);
  CHECK(rig.done[1].records == 2);
  CHECK(rig.w.batches_in_flight() == 0);

  ReadBack rb = read_back(tmp.sub("shard-00"));
  CHECK(rb.v.ids == std::vector<uint64_t>{1, 2, 3, 4, 5});
  // The second write started on a fresh aligned offset.
  CHECK(rb.v.offsets[3] == rig.done[0].bytes);
}

TEST_CASE("append says busy when every buffer is full, and ok again once writes finish",
          "[storage]") {
  TempDir tmp;
  Rig rig(small_options(), tmp.sub("shard-00"));
  const std::string body(100, 'b');
  uint64_t batch = 0, appended = 0;
  AppendStatus st = AppendStatus::ok;
  for (uint64_t id = 1; id < 100000; ++id) {
    st = rig.w.append(id, 0, body.data(), 100, batch);
    if (st != AppendStatus::ok) break;
    ++appended;
  }
  CHECK(st == AppendStatus::busy);
  CHECK(batch == 3);  // four buffers: batches 0..3 filled
  CHECK(appended == 4 * ((64 * 1024) / record_bytes(100)));
  CHECK(rig.w.healthy());
  rig.drain();
  CHECK(rig.w.append(appended + 1, 0, body.data(), 100, batch) == AppendStatus::ok);
  rig.drain();
  CHECK(read_back(tmp.sub("shard-00")).rec.records == appended + 1);
}

TEST_CASE("a segment that fills before the next is prepared says busy once, counted as one wait",
          "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  o.segment_size = 256 * 1024;  // four buffers' worth
  o.buffer_count = 8;           // so buffers are never what runs out here
  Rig rig(o, tmp.sub("shard-00"));
  const std::string body(100, 's');
  uint64_t batch = 0, appended = 0;
  AppendStatus st = AppendStatus::ok;
  // No loop turn: nothing is written and the next segment's preparation never starts.
  for (uint64_t id = 1; id < 100000 && st == AppendStatus::ok; ++id) {
    st = rig.w.append(id, 0, body.data(), 100, batch);
    if (st == AppendStatus::ok) ++appended;
  }
  CHECK(st == AppendStatus::busy);
  CHECK(appended == 4 * ((64 * 1024) / record_bytes(100)));
  CHECK(rig.w.segment_waits() == 1);
  CHECK_FALSE(rig.w.healthy());  // a shard blocked on its next segment is not healthy
  // Asked again while blocked: still one wait.
  CHECK(rig.w.append(appended + 1, 0, body.data(), 100, batch) == AppendStatus::busy);
  CHECK(rig.w.segment_waits() == 1);
  rig.append(appended + 1, body, 0);  // turns the loop: the segment is prepared, the append goes in
  rig.drain();
  CHECK(rig.w.segment_waits() == 1);
  CHECK(rig.w.healthy());
  CHECK(read_back(tmp.sub("shard-00")).rec.records == appended + 1);
}

TEST_CASE("records continue in the next segment file when a segment fills", "[storage]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  const std::string body(1000, 'm');
  const uint64_t n = 5000;  // about 2.5 segments of 2 MiB
  {
    Rig rig(small_options(), dir);
    for (uint64_t id = 1; id <= n; ++id) {
      rig.append(id, body, id);
      if (id % 20 == 0) rig.turn();
    }
    rig.drain();
    CHECK(rig.w.healthy());
  }
  struct stat st {};
  CHECK(stat(segment_path(dir, 1).c_str(), &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_size) == 2ull << 20);
  CHECK(stat(segment_path(dir, 2).c_str(), &st) == 0);
  ReadBack rb = read_back(dir);
  CHECK(rb.rec.records == n);
  CHECK(rb.rec.position.segment == 2);
  REQUIRE(rb.v.ids.size() == n);
  for (uint64_t id = 1; id <= n; ++id) REQUIRE(rb.v.ids[id - 1] == id);
}

TEST_CASE("a writer reopened at the recovered position appends after the old records",
          "[storage]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  {
    Rig rig(small_options(), dir);
    for (uint64_t id = 1; id <= 10; ++id) rig.append(id, body_for(id), id);
    rig.drain();
  }
  const ReadBack first = read_back(dir);
  REQUIRE(first.rec.records == 10);
  {
    Rig rig(small_options(), dir, first.rec.position);
    for (uint64_t id = 11; id <= 20; ++id) rig.append(id, body_for(id), id);
    rig.drain();
  }
  const ReadBack second = read_back(dir);
  REQUIRE(second.v.ids.size() == 20);
  for (uint64_t id = 1; id <= 20; ++id) CHECK(second.v.ids[id - 1] == id);
  CHECK(second.v.offsets[10] == first.rec.position.offset);
}

TEST_CASE("with O_DSYNC the same records are written and read back", "[storage]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  WriterOptions o = small_options();
  o.dsync = true;
  {
    Rig rig(o, dir);
    for (uint64_t id = 1; id <= 300; ++id) {
      rig.append(id, body_for(id), id);
      if (id % 25 == 0) rig.turn();
    }
    rig.drain();
    for (const WriteDone& d : rig.done) REQUIRE(d.res == 0);
  }
  ReadBack rb = read_back(dir);
  REQUIRE(rb.v.ids.size() == 300);
  for (uint64_t id = 1; id <= 300; ++id) REQUIRE(rb.v.ids[id - 1] == id);
}

TEST_CASE("with two writes in flight batches still complete and read back in order", "[storage]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  WriterOptions o = small_options();
  o.max_in_flight = 2;
  o.min_batch_records = 1;  // the overlapping write may start at once
  {
    Rig rig(o, dir);
    uint64_t batch = 0;
    REQUIRE(rig.w.append(1, 1, "a", 1, batch) == AppendStatus::ok);
    rig.w.submit(rig.sink, 0);
    REQUIRE(rig.sink.queued.size() == 1);
    REQUIRE(rig.w.append(2, 2, "b", 1, batch) == AppendStatus::ok);
    CHECK(batch == 1);
    rig.w.submit(rig.sink, 0);
    REQUIRE(rig.sink.queued.size() == 2);  // a second write starts while the first is in flight
    CHECK(rig.w.batches_in_flight() == 2);
    REQUIRE(rig.w.append(3, 3, "c", 1, batch) == AppendStatus::ok);
    CHECK(batch == 2);
    rig.w.submit(rig.sink, 0);
    CHECK(rig.sink.queued.size() == 2);  // no third
    REQUIRE(rig.runner.start(rig.sink).empty());
    for (uint64_t id = 4; id <= 1000; ++id) rig.append(id, body_for(id), id);
    rig.drain();
    for (size_t i = 0; i < rig.done.size(); ++i) {
      REQUIRE(rig.done[i].batch == i);
      REQUIRE(rig.done[i].res == 0);
    }
  }
  ReadBack rb = read_back(dir);
  REQUIRE(rb.v.ids.size() == 1000);
  for (uint64_t id = 1; id <= 1000; ++id) REQUIRE(rb.v.ids[id - 1] == id);
}

TEST_CASE("an overlapping write waits for the minimum batch", "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  o.max_in_flight = 2;
  o.min_batch_records = 3;
  Rig rig(o, tmp.sub("shard-00"));
  uint64_t batch = 0;
  REQUIRE(rig.w.append(1, 1, "a", 1, batch) == AppendStatus::ok);
  rig.w.submit(rig.sink, 0);
  REQUIRE(rig.sink.queued.size() == 1);
  REQUIRE(rig.w.append(2, 2, "b", 1, batch) == AppendStatus::ok);
  REQUIRE(rig.w.append(3, 3, "c", 1, batch) == AppendStatus::ok);
  rig.w.submit(rig.sink, 0);
  CHECK(rig.sink.queued.size() == 1);  // 2 records wait, one write is in flight
  REQUIRE(rig.w.append(4, 4, "d", 1, batch) == AppendStatus::ok);
  rig.w.submit(rig.sink, 0);
  CHECK(rig.sink.queued.size() == 2);  // 3 records: the second write overlaps
  REQUIRE(rig.runner.start(rig.sink).empty());
  rig.drain();
}

// With skip_write_cqe the write posts no CQE when it succeeds: each batch ends on its
// fdatasync's CQE alone, and the records read back the same.
TEST_CASE("durable writes complete after their linked fdatasync and read back", "[storage]") {
  const bool skip = GENERATE(false, true);
  INFO("skip_write_cqe " << skip);
  TempDir tmp;
  WriterOptions o = small_options();
  o.dsync = true;
  o.skip_write_cqe = skip;
  const std::string dir = tmp.sub("shard-00");
  {
    Rig rig(o, dir);
    uint64_t batch = 0;
    REQUIRE(rig.w.append(1, 1, "{\"n\":1}", 7, batch) == AppendStatus::ok);
    rig.w.submit(rig.sink, 0);
    // The write, then its fdatasync linked behind it, in one submission.
    REQUIRE(rig.sink.queued.size() == 2);
    CHECK(rig.sink.reserved == 2);
    const QueuedSqe& w = rig.sink.queued[0];
    const QueuedSqe& f = rig.sink.queued[1];
    CHECK(w.op == LogOp::write);
    CHECK((w.sqe.flags & IOSQE_IO_LINK) != 0);
    CHECK(((w.sqe.flags & IOSQE_CQE_SKIP_SUCCESS) != 0) == skip);
    CHECK(f.op == LogOp::sync);
    CHECK(f.seq == w.seq);
    CHECK(f.sqe.opcode == IORING_OP_FSYNC);
    CHECK(f.sqe.fsync_flags == IORING_FSYNC_DATASYNC);
    CHECK(rig.w.cqes_in_flight() == (skip ? 1u : 2u));
    rig.writes = 1;
    REQUIRE(rig.runner.start(rig.sink).empty());
    for (uint64_t id = 2; id <= 50; ++id) rig.append(id, "{\"n\":" + std::to_string(id) + "}", id);
    rig.drain();  // requires every CQE counted in flight to have come, and no more
    CHECK(rig.write_cqes == rig.writes * (skip ? 1 : 2));
    uint64_t records = 0;
    for (const WriteDone& d : rig.done) {
      CHECK(d.res == 0);
      records += d.records;
    }
    CHECK(records == 50);
  }
  CollectingVisitor v;
  auto r = busyring::storage::recover_shard(dir, false, &v);
  REQUIRE(r.ok());
  REQUIRE(v.ids.size() == 50);
  CHECK(v.ids.front() == 1);
  CHECK(v.ids.back() == 50);
}

// The kernel contract skip_write_cqe stands on: in a link write(CQE_SKIP_SUCCESS) -> fsync, a
// failed write posts its own CQE and the cancelled fsync posts none.
TEST_CASE("a failed linked write that skips its CQE on success posts one CQE, its own", "[storage]") {
  io_uring ring;
  REQUIRE(io_uring_queue_init(8, &ring, 0) == 0);
  REQUIRE((ring.features & IORING_FEAT_CQE_SKIP) != 0);
  TempDir tmp;
  const std::string path = tmp.sub("ro");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CREAT, 0644);  // writes fail with EBADF
  REQUIRE(fd >= 0);
  char block[512] = {};
  io_uring_sqe* w = io_uring_get_sqe(&ring);
  io_uring_prep_write(w, fd, block, sizeof block, 0);
  w->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
  io_uring_sqe_set_data64(w, 1);
  io_uring_sqe* f = io_uring_get_sqe(&ring);
  io_uring_prep_fsync(f, fd, IORING_FSYNC_DATASYNC);
  io_uring_sqe_set_data64(f, 2);
  REQUIRE(io_uring_submit(&ring) == 2);
  io_uring_cqe* cqe = nullptr;
  REQUIRE(io_uring_wait_cqe(&ring, &cqe) == 0);
  CHECK(cqe->user_data == 1);
  CHECK(cqe->res == -EBADF);
  io_uring_cqe_seen(&ring, cqe);
  // A nop behind it: had the fsync posted a CQE, it would come before the nop's.
  io_uring_sqe* n = io_uring_get_sqe(&ring);
  io_uring_prep_nop(n);
  io_uring_sqe_set_data64(n, 3);
  REQUIRE(io_uring_submit(&ring) == 1);
  REQUIRE(io_uring_wait_cqe(&ring, &cqe) == 0);
  CHECK(cqe->user_data == 3);
  io_uring_cqe_seen(&ring, cqe);
  ::close(fd);
  io_uring_queue_exit(&ring);
}

TEST_CASE("with skip_write_cqe a failed write's own CQE fails its batch", "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  o.dsync = true;
  o.skip_write_cqe = true;
  Rig rig(o, tmp.sub("shard-00"));
  uint64_t batch = 0;
  REQUIRE(rig.w.append(1, 0, "x", 1, batch) == AppendStatus::ok);
  rig.w.submit(rig.sink, 0);
  REQUIRE(rig.sink.queued.size() == 2);
  CHECK((rig.sink.queued[0].sqe.flags & IOSQE_CQE_SKIP_SUCCESS) != 0);
  CHECK((rig.sink.queued[0].sqe.flags & IOSQE_IO_LINK) != 0);
  // As the kernel reports it: the write's own CQE, and no fdatasync CQE follows.
  rig.w.on_complete(LogOp::write, rig.sink.queued[0].seq, -EIO, 0);
  CHECK(rig.w.cqes_in_flight() == 0);
  WriteDone d;
  REQUIRE(rig.w.pop_done(d));
  CHECK(d.res == -EIO);
  CHECK_FALSE(rig.w.healthy());
}

TEST_CASE("write-behind waits for the delay or the byte threshold, then writes", "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  o.write_delay_ns = 1'000'000;
  o.write_delay_bytes = 4096;
  o.max_in_flight = 2;
  Rig rig(o, tmp.sub("shard-00"));
  CHECK(rig.w.next_write_ns() == UINT64_MAX);
  uint64_t batch = 0;
  REQUIRE(rig.w.append(1, 0, "x", 1, batch) == AppendStatus::ok);
  const uint64_t t0 = 5'000'000'000;
  rig.w.submit(rig.sink, t0);
  CHECK(rig.sink.queued.empty());  // records first seen waiting at t0
  CHECK(rig.w.next_write_ns() == t0 + 1'000'000);
  rig.w.submit(rig.sink, t0 + 999'999);
  CHECK(rig.sink.queued.empty());
  rig.w.submit(rig.sink, t0 + 1'000'000);
  CHECK(rig.sink.queued.size() == 1);
  CHECK(rig.w.next_write_ns() == UINT64_MAX);  // nothing waits any more

  // Enough bytes start a write at once.
  const std::string body(1000, 'b');
  for (uint64_t id = 2; id <= 5; ++id)
    REQUIRE(rig.w.append(id, 0, body.data(), 1000, batch) == AppendStatus::ok);
  rig.w.submit(rig.sink, t0 + 2'000'000);
  CHECK(rig.sink.queued.size() == 2);
}

TEST_CASE("write-behind records reach the disk without more appends", "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  o.write_delay_ns = 2'000'000;
  const std::string dir = tmp.sub("shard-00");
  {
    Rig rig(o, dir);
    rig.append(1, "{}", 1);
    rig.drain();  // turns until the delay has passed and the write completed
    REQUIRE(rig.done.size() == 1);
    CHECK(rig.done[0].records == 1);
  }
  CollectingVisitor v;
  REQUIRE(busyring::storage::recover_shard(dir, false, &v).ok());
  CHECK(v.ids == std::vector<uint64_t>{1});
}
