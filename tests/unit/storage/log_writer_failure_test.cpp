// storage/log_writer: failures and resources. A failed or short write makes the log
// unavailable and fails what is pending; open refuses impossible sizes; segment fds are
// closed once, when no pending batch needs them, and never after.
#include "busyring/storage/log_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/base/align.h"
#include "busyring/storage/segment.h"
#include "log_writer_rig.h"

using namespace busyring::storage;
using namespace busyring::test;

namespace {

// Writes everything waiting and waits for it; preparation steps queued meanwhile are held
// back (as on a stalled disk) when the test holds them.
void write_only(Rig& rig) {
  rig.submit(0);
  while (rig.w.batches_in_flight() > 0) rig.wait();
}

// Appends one record at a time, each written before the next arrives, until append says no.
AppendStatus fill_one_by_one(Rig& rig, uint64_t& id, const std::string& body) {
  for (int i = 0; i < 1000; ++i) {
    uint64_t batch = 0;
    const AppendStatus st = rig.w.append(id, id, body.data(), static_cast<uint32_t>(body.size()), batch);
    if (st != AppendStatus::ok) return st;
    ++id;
    write_only(rig);
  }
  return AppendStatus::ok;
}

WriterOptions quarter_mb() {
  WriterOptions o = small_options();
  o.segment_size = 256 * 1024;
  o.max_record_body = 8192;
  return o;
}

// Starts one write of what was appended and waits for its real completion, without handing
// it to the writer.
Completion write_and_wait(Rig& rig) {
  rig.w.submit(rig.sink, 0);
  REQUIRE(rig.sink.queued.size() == 1);
  REQUIRE(rig.runner.start(rig.sink).empty());
  const std::vector<Completion> c = rig.runner.wait();
  REQUIRE(c.size() == 1);
  REQUIRE(c[0].op == LogOp::write);
  return c[0];
}

}  // namespace

TEST_CASE("a failed write is answered as failed, voided on disk, and writing resumes after it",
          "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  Rig rig(o, tmp.sub("shard-00"));
  uint64_t batch = 0;
  for (uint64_t id = 1; id <= 3; ++id) REQUIRE(rig.w.append(id, 0, "x", 1, batch) == AppendStatus::ok);
  rig.w.submit(rig.sink, 0);
  REQUIRE(rig.sink.queued.size() == 1);
  REQUIRE(rig.runner.start(rig.sink).empty());
  for (uint64_t id = 4; id <= 5; ++id) REQUIRE(rig.w.append(id, 0, "y", 1, batch) == AppendStatus::ok);
  REQUIRE(batch == 1);

  const std::vector<Completion> c = rig.runner.wait();
  REQUIRE(c.size() == 1);
  // The device wrote the records of batch 0, yet reports failure: they must not count.
  rig.w.on_complete(LogOp::write, c[0].seq, -EIO, now_ns());

  CHECK_FALSE(rig.w.healthy());
  CHECK_THAT(rig.w.health_reason(), Catch::Contains("write failed"));
  CHECK(rig.w.append(6, 0, "z", 1, batch) == AppendStatus::unavailable);
  WriteDone d;
  REQUIRE(rig.w.pop_done(d));
  CHECK(d.batch == 0);
  CHECK(d.res == -EIO);
  CHECK(d.records == 3);
  CHECK_FALSE(rig.w.pop_done(d));  // batch 1 waits for the void marker, then is written

  // The marker goes first, alone: its segment is opened through the ring, then written.
  rig.w.submit(rig.sink, now_ns());
  REQUIRE(rig.sink.queued.size() == 1);
  CHECK(rig.sink.queued[0].op == LogOp::void_mark);
  CHECK(rig.sink.queued[0].sqe.opcode == IORING_OP_OPENAT);
  rig.drain();
  CHECK(rig.runner.count(LogOp::void_mark, IORING_OP_WRITE) == 1);
  CHECK(rig.w.healthy());
  REQUIRE(rig.done.size() == 1);
  CHECK(rig.done[0].batch == 1);
  CHECK(rig.done[0].res == 0);
  CHECK(rig.done[0].records == 2);
  rig.append(7, "w", 0);
  rig.drain();

  // On disk: the failed write's records are void, everything after it is there.
  CollectingVisitor v;
  auto r = busyring::storage::recover_shard(tmp.sub("shard-00"), false, &v);
  REQUIRE(r.ok());
  CHECK(v.ids == std::vector<uint64_t>{4, 5, 7});
}

TEST_CASE("a short write counts as a failed write", "[storage]") {
  TempDir tmp;
  Rig rig(small_options(), tmp.sub("shard-00"));
  uint64_t batch = 0;
  const std::string body(700, 'k');  // two sectors' worth with the header
  REQUIRE(rig.w.append(1, 0, body.data(), 700, batch) == AppendStatus::ok);
  const Completion c = write_and_wait(rig);
  const int full = c.res;
  REQUIRE(full == static_cast<int>(busyring::base::align_up(record_bytes(700), rig.w.dio_align())));
  rig.w.on_complete(LogOp::write, c.seq, full - static_cast<int>(rig.w.dio_align()), now_ns());
  WriteDone d;
  REQUIRE(rig.w.pop_done(d));
  CHECK(d.res == -EIO);
  CHECK_FALSE(rig.w.healthy());
  rig.drain();
  CHECK(rig.w.healthy());
  CollectingVisitor v;
  auto r = busyring::storage::recover_shard(tmp.sub("shard-00"), false, &v);
  REQUIRE(r.ok());
  CHECK(v.ids.empty());
}

TEST_CASE("open refuses a segment size under two write buffers", "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  o.dir = tmp.sub("shard-00");
  o.segment_size = 64 * 1024;
  LogWriter w;
  auto st = w.open(o, AppendPosition{});
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error(), Catch::Contains("--segment-size"));
}

TEST_CASE("the writer closes every segment file it switched away from", "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  o.segment_size = 256 * 1024;
  o.max_record_body = 8192;
  const int fds_before = busyring::test::open_fd_count();
  {
    Rig rig(o, tmp.sub("shard-00"));
    const std::string body(8000, 's');
    // One record per write, each written before the next arrives (a quiet server): the
    // segment switches happen with nothing of the old segment still pending.
    for (uint64_t id = 1; id <= 100; ++id) {
      rig.append(id, body, id);
      rig.drain();
    }
    CHECK(read_back(tmp.sub("shard-00")).rec.position.segment >= 3);
    // Open now: the ring, the current segment, the shard directory, maybe a segment being
    // prepared; no segment left behind.
    CHECK(busyring::test::open_fd_count() - fds_before <= 4);
  }
  CHECK(busyring::test::open_fd_count() == fds_before);
}

TEST_CASE("destroying the writer closes no fd it has already closed", "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  o.segment_size = 256 * 1024;
  o.max_record_body = 8192;
  std::vector<int> others;
  {
    Rig rig(o, tmp.sub("shard-00"));
    const std::string body(8000, 'c');
    // 28 records, one write each (8 KiB apart): segment 0 is past half full, so the next
    // segment gets prepared; turn until it is ready.
    uint64_t id = 1;
    for (; id <= 28; ++id) {
      rig.append(id, body, id);
      rig.drain();
    }
    for (int i = 0; i < 20; ++i) rig.turn();
    // Records fill what is left of segment 0 in one batch; the next one seals it and
    // switches to segment 1 while that batch is still pending.
    uint64_t first_batch = 0, batch = 0;
    REQUIRE(rig.w.append(id, id, body.data(), 8000, first_batch) == AppendStatus::ok);
    batch = first_batch;
    while (batch == first_batch && id < 40) {
      ++id;
      REQUIRE(rig.w.append(id, id, body.data(), 8000, batch) == AppendStatus::ok);
    }
    REQUIRE(batch == first_batch + 1);
    rig.drain();  // the segment-0 batch is released and segment 0's fd closed
    REQUIRE(read_back(tmp.sub("shard-00")).rec.position.segment == 1);
    // Files opened now take the lowest free numbers: the closed segment fd among them.
    for (int i = 0; i < 8; ++i) others.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  for (int fd : others) {
    INFO("fd " << fd);
    CHECK(fcntl(fd, F_GETFD) != -1);
    close(fd);
  }
}

TEST_CASE("a full segment waits for the next one, saying so, then appending goes on", "[storage]") {
  TempDir tmp;
  Rig rig(quarter_mb(), tmp.sub("shard-00"));
  rig.runner.hold(LogOp::prepare);  // the preparation stalls
  const std::string body(8000, 'w');
  uint64_t id = 1;
  CHECK(fill_one_by_one(rig, id, body) == AppendStatus::busy);
  CHECK(id > 20);
  CHECK_FALSE(rig.w.healthy());
  CHECK(std::string(rig.w.health_reason()) == "waiting for the next log segment");
  rig.runner.release();
  rig.append(id, body, id);  // turns the loop, which prepares the next segment
  CHECK(rig.w.healthy());
  rig.drain();
  ReadBack rb = read_back(tmp.sub("shard-00"));
  CHECK(rb.rec.records == id);
  CHECK(rb.rec.position.segment == 1);
}

// Issue 15: a refused allocation used to be survivable only by accident (later zero writes hit
// ENOSPC too). Now the refusal itself is the error: no zero write follows, the partial file is
// removed through the ring, and appends are unavailable until a retry succeeds.
TEST_CASE("a segment whose allocation is refused makes appends unavailable until it can be prepared",
          "[storage]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  Rig rig(quarter_mb(), dir);
  rig.runner.inject(IORING_OP_FALLOCATE, -ENOSPC);  // as on a full disk
  const std::string body(8000, 'e');
  uint64_t id = 1;
  const uint64_t t0 = now_ns();
  // Past half full, preparation starts: the file is created, its allocation refused, and the
  // file removed again.
  for (; id <= 20; ++id) {
    rig.append(id, body, id);
    rig.turn(t0);
  }
  // Each step starts in the turn after the one that saw its predecessor complete: turn until
  // the clean-up has been taken, then until it has completed.
  for (int i = 0; i < 100 && rig.runner.count(LogOp::prepare, IORING_OP_UNLINKAT) == 0; ++i) rig.turn(t0);
  for (int i = 0; i < 10 && rig.w.cqes_in_flight() > 0; ++i) rig.turn(t0);
  CHECK(rig.runner.count(LogOp::prepare, IORING_OP_OPENAT) == 1);
  CHECK(rig.runner.count(LogOp::prepare, IORING_OP_FALLOCATE) == 1);
  CHECK(rig.runner.count(LogOp::prepare, IORING_OP_WRITE_FIXED) == 0);  // no zero write
  CHECK(rig.runner.count(LogOp::prepare, IORING_OP_UNLINKAT) == 1);
  struct stat st {};
  CHECK(stat((segment_path(dir, 1) + ".tmp").c_str(), &st) != 0);  // the partial file is gone
  CHECK(stat(segment_path(dir, 1).c_str(), &st) != 0);
  rig.turn(t0 + 999'000'000);  // retried only a second later
  CHECK(rig.runner.count(LogOp::prepare, IORING_OP_OPENAT) == 1);

  // The current segment fills up: appends are unavailable (503), not busy, and say why.
  AppendStatus st_full = AppendStatus::ok;
  for (int i = 0; i < 100 && st_full == AppendStatus::ok; ++i) {
    uint64_t batch = 0;
    st_full = rig.w.append(id, id, body.data(), 8000, batch);
    if (st_full == AppendStatus::ok) ++id;
    rig.submit(t0);
    while (rig.w.batches_in_flight() > 0) rig.wait();
  }
  CHECK(st_full == AppendStatus::unavailable);
  CHECK_FALSE(rig.w.healthy());
  CHECK_THAT(rig.w.health_reason(), Catch::Contains("disk is full"));

  // A second later the disk has room again: preparation succeeds and appending resumes.
  const uint64_t later = now_ns() + 2'000'000'000ull;
  for (int i = 0; i < 100 && !rig.w.healthy(); ++i) rig.turn(later);
  CHECK(rig.w.healthy());
  uint64_t batch = 0;
  REQUIRE(rig.w.append(id, id, body.data(), 8000, batch) == AppendStatus::ok);
  rig.drain();
  ReadBack rb = read_back(dir);
  CHECK(rb.rec.records == id);
  CHECK(rb.rec.position.segment == 1);
  for (uint64_t i = 1; i <= id; ++i) REQUIRE(rb.v.ids[i - 1] == i);
}
