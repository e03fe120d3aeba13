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

// Writes everything waiting and waits for it, without preparing segments.
void write_only(Rig& rig) {
  while (rig.w.write_ready(0)) {
    io_uring_sqe* s = rig.sqe();
    io_uring_sqe_set_data64(s, kWriteTag | rig.w.prep_write(s, nullptr));
    ++rig.in_flight;
  }
  REQUIRE(io_uring_submit(&rig.ring) >= 0);
  while (rig.in_flight > 0) {
    io_uring_cqe* cqe = nullptr;
    REQUIRE(io_uring_wait_cqe(&rig.ring, &cqe) == 0);
    rig.handle(cqe);
    io_uring_cqe_seen(&rig.ring, cqe);
  }
}

// Appends one record at a time, each written before the next, until append says no.
AppendStatus fill_without_preparing(Rig& rig, uint64_t& id, const std::string& body) {
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

}  // namespace

TEST_CASE("a failed write is answered as failed, voided on disk, and writing resumes after it",
          "[storage]") {
  TempDir tmp;
  WriterOptions o = small_options();
  Rig rig(o, tmp.sub("shard-00"));
  uint64_t batch = 0;
  for (uint64_t id = 1; id <= 3; ++id) REQUIRE(rig.w.append(id, 0, "x", 1, batch) == AppendStatus::ok);
  io_uring_sqe* s = rig.sqe();
  const uint64_t b0 = rig.w.prep_write(s, nullptr);
  io_uring_sqe_set_data64(s, kWriteTag | b0);
  REQUIRE(io_uring_submit(&rig.ring) == 1);
  for (uint64_t id = 4; id <= 5; ++id) REQUIRE(rig.w.append(id, 0, "y", 1, batch) == AppendStatus::ok);
  REQUIRE(batch == 1);

  io_uring_cqe* cqe = nullptr;
  REQUIRE(io_uring_wait_cqe(&rig.ring, &cqe) == 0);
  io_uring_cqe_seen(&rig.ring, cqe);
  // The device wrote the records of batch 0, yet reports failure: they must not count.
  rig.w.on_write(b0, -EIO);

  CHECK_FALSE(rig.w.healthy());
  CHECK_THAT(rig.w.health_reason(), Catch::Contains("write failed"));
  CHECK(rig.w.append(6, 0, "z", 1, batch) == AppendStatus::unavailable);
  CHECK_FALSE(rig.w.write_ready(0));
  WriteDone d;
  REQUIRE(rig.w.pop_done(d));
  CHECK(d.batch == 0);
  CHECK(d.res == -EIO);
  CHECK(d.records == 3);
  CHECK_FALSE(rig.w.pop_done(d));  // batch 1 waits for the void marker, then is written

  rig.drain();
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
  io_uring_sqe* s = rig.sqe();
  const uint64_t b0 = rig.w.prep_write(s, nullptr);
  io_uring_sqe_set_data64(s, kWriteTag | b0);
  REQUIRE(io_uring_submit(&rig.ring) == 1);
  io_uring_cqe* cqe = nullptr;
  REQUIRE(io_uring_wait_cqe(&rig.ring, &cqe) == 0);
  const int full = cqe->res;
  io_uring_cqe_seen(&rig.ring, cqe);
  REQUIRE(full == static_cast<int>(busyring::base::align_up(record_bytes(700), rig.w.dio_align())));
  rig.w.on_write(b0, full - static_cast<int>(rig.w.dio_align()));
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
  const std::string body(8000, 'w');
  uint64_t id = 1;
  CHECK(fill_without_preparing(rig, id, body) == AppendStatus::busy);
  CHECK(id > 20);
  CHECK_FALSE(rig.w.healthy());
  CHECK(std::string(rig.w.health_reason()) == "waiting for the next log segment");
  rig.append(id, body, id);  // turns the loop, which prepares the next segment
  CHECK(rig.w.healthy());
  rig.drain();
  ReadBack rb = read_back(tmp.sub("shard-00"));
  CHECK(rb.rec.records == id);
  CHECK(rb.rec.position.segment == 1);
}

TEST_CASE("a segment that cannot be prepared makes appends unavailable until it can", "[storage]") {
  TempDir tmp;
  const std::string dir = tmp.sub("shard-00");
  Rig rig(quarter_mb(), dir);
  const std::string body(8000, 'e');
  uint64_t id = 1;
  for (; id <= 20; ++id) {
    rig.append(id, body, id);
    write_only(rig);
  }
  // Past half full: preparation starts; its first write fails as on a full disk.
  REQUIRE(rig.w.prepare_ready(busyring::base::monotonic_ns()));
  io_uring_sqe* s = rig.sqe();
  rig.w.prep_prepare(s);
  io_uring_sqe_set_data64(s, kPrepareTag);
  REQUIRE(io_uring_submit(&rig.ring) == 1);
  io_uring_cqe* cqe = nullptr;
  REQUIRE(io_uring_wait_cqe(&rig.ring, &cqe) == 0);
  io_uring_cqe_seen(&rig.ring, cqe);
  rig.w.on_prepare(-ENOSPC);
  struct stat st {};
  CHECK(stat((segment_path(dir, 1) + ".tmp").c_str(), &st) != 0);  // the partial file is gone
  CHECK_FALSE(rig.w.prepare_ready(busyring::base::monotonic_ns()));  // retried only a second later

  CHECK(fill_without_preparing(rig, id, body) == AppendStatus::unavailable);
  CHECK_FALSE(rig.w.healthy());
  CHECK_THAT(rig.w.health_reason(), Catch::Contains("disk is full"));

  // A second later the disk has room again: preparation succeeds and appending resumes.
  const uint64_t later = busyring::base::monotonic_ns() + 2'000'000'000ull;
  for (int i = 0; i < 100 && rig.w.prepare_ready(later); ++i) {
    s = rig.sqe();
    rig.w.prep_prepare(s);
    io_uring_sqe_set_data64(s, kPrepareTag);
    ++rig.in_flight;
    REQUIRE(io_uring_submit(&rig.ring) == 1);
    REQUIRE(io_uring_wait_cqe(&rig.ring, &cqe) == 0);
    rig.handle(cqe);
    io_uring_cqe_seen(&rig.ring, cqe);
  }
  CHECK(rig.w.healthy());
  uint64_t batch = 0;
  REQUIRE(rig.w.append(id, id, body.data(), 8000, batch) == AppendStatus::ok);
  rig.drain();
  ReadBack rb = read_back(dir);
  CHECK(rb.rec.records == id);
  CHECK(rb.rec.position.segment == 1);
  for (uint64_t i = 1; i <= id; ++i) REQUIRE(rb.v.ids[i - 1] == i);
}
