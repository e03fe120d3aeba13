// storage/segment_preparer: the next segment is made on the ring, one step at a time (OPENAT,
// FALLOCATE, zero writes, FSYNC, RENAMEAT, directory FSYNC), and nothing but SQEs leaves it:
// a refused allocation (issue 15) or a failed fsync is reported, no further step is taken,
// and the partial .tmp is removed through the ring too. Driven through a fake sink
// (fake_sink.h): steps run on a real ring unless a test completes them itself.
#include "busyring/storage/segment_preparer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/base/clock.h"
#include "busyring/storage/segment.h"
#include "busyring/storage/segment_ledger.h"
#include "fake_sink.h"

using namespace busyring;
using namespace busyring::storage;
using namespace busyring::test;

namespace {

constexpr uint64_t kSegmentBytes = 1 << 20;
constexpr uint32_t kZeroBytes = 256 * 1024;

// A preparer for `dir`, its zero buffer registered with the runner's ring at index 0.
struct PrepRig {
  explicit PrepRig(const std::string& shard_dir, int ledger_fd = -1) : dir(shard_dir) {
    REQUIRE(make_dirs(dir) == 0);
    dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(dir_fd >= 0);
    zeros = static_cast<uint8_t*>(alloc_aligned(kZeroBytes));
    REQUIRE(zeros != nullptr);
    iovec iov{zeros, kZeroBytes};
    REQUIRE(io_uring_register_buffers(&runner.ring, &iov, 1) == 0);
    PreparerOptions o;
    o.dir = dir;
    o.dir_fd = dir_fd;
    o.segment_bytes = kSegmentBytes;
    o.zeros = zeros;
    o.zero_bytes = kZeroBytes;
    o.zero_buffer_index = 0;
    o.ledger_fd = ledger_fd;
    o.shard = 3;
    p.init(o);
  }
  ~PrepRig() {
    free_aligned(zeros, kZeroBytes);
    ::close(dir_fd);
  }

  // One step: queue it (if it may start), run it, hand its completion back.
  void step(uint32_t index, uint64_t now_ns) {
    p.submit(sink, index, now_ns);
    if (sink.queued.empty()) return;
    REQUIRE(sink.queued.size() == 1);
    REQUIRE(sink.queued[0].op == LogOp::prepare);
    std::vector<Completion> done = runner.start(sink);
    if (done.empty()) done = runner.wait();
    REQUIRE(done.size() == 1);
    p.on_complete(done[0].seq, done[0].res, now_ns);
  }

  std::vector<uint8_t> opcodes() const {
    std::vector<uint8_t> out;
    for (const QueuedSqe& q : runner.taken) out.push_back(q.sqe.opcode);
    return out;
  }

  std::string dir;
  int dir_fd = -1;
  uint8_t* zeros = nullptr;
  RingRunner runner;
  FakeSink sink;
  SegmentPreparer p;
};

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("a segment is prepared on the ring: created, allocated, zeroed, fsynced, renamed, dir fsynced",
          "[storage][preparer]") {
  TempDir tmp;
  PrepRig rig(tmp.sub("shard-00"));
  const uint64_t now = base::monotonic_ns();
  for (int i = 0; i < 20 && !rig.p.ready(); ++i) rig.step(1, now);
  REQUIRE(rig.p.ready());
  CHECK(rig.p.ready_index() == 1);
  CHECK(rig.p.error() == 0);
  const std::vector<uint8_t> expected = {IORING_OP_OPENAT,      IORING_OP_FALLOCATE,   IORING_OP_WRITE_FIXED,
                                         IORING_OP_WRITE_FIXED, IORING_OP_WRITE_FIXED, IORING_OP_WRITE_FIXED,
                                         IORING_OP_FSYNC,       IORING_OP_RENAMEAT,    IORING_OP_FSYNC};
  CHECK(rig.opcodes() == expected);
  CHECK(rig.runner.taken.back().sqe.fd == rig.dir_fd);  // the last fsync is the directory's
  CHECK(rig.runner.taken[1].sqe.len == 0);              // fallocate mode 0: blocks reserved, size set
  CHECK_FALSE(exists(segment_path(rig.dir, 1) + ".tmp"));

  struct stat st {};
  REQUIRE(stat(segment_path(rig.dir, 1).c_str(), &st) == 0);
  CHECK(static_cast<uint64_t>(st.st_size) == kSegmentBytes);
  std::vector<char> bytes(kSegmentBytes, 'x');
  const int rfd = ::open(segment_path(rig.dir, 1).c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(rfd >= 0);
  REQUIRE(pread(rfd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(kSegmentBytes));
  ::close(rfd);
  CHECK(std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; }));

  // The descriptor it was created with is handed over: direct I/O, writable, the same file.
  rig.p.submit(rig.sink, 1, now);
  CHECK(rig.sink.queued.empty());  // ready: nothing more to do
  const SegmentPreparer::Prepared seg = rig.p.take();
  CHECK_FALSE(rig.p.ready());
  CHECK(seg.bytes == kSegmentBytes);
  REQUIRE(seg.fd >= 0);
  CHECK((fcntl(seg.fd, F_GETFL) & O_DIRECT) != 0);
  CHECK((fcntl(seg.fd, F_GETFL) & O_ACCMODE) == O_WRONLY);
  struct stat by_fd {};
  REQUIRE(fstat(seg.fd, &by_fd) == 0);
  CHECK(by_fd.st_ino == st.st_ino);
  ::close(seg.fd);
}

// Issue 17 §1: with a segment ledger, the segment is recorded there (one appended line, then an
// fdatasync) after it exists under its name and before it is ready for a record.
TEST_CASE("with a ledger, a prepared segment is recorded in it before it is ready", "[storage][preparer]") {
  TempDir tmp;
  const int ledger = open_ledger(tmp.path());
  REQUIRE(ledger >= 0);
  REQUIRE(append_ledger_sync(ledger, 3, 0) == 0);  // what start-up wrote
  PrepRig rig(tmp.sub("shard-03"), ledger);
  const uint64_t now = base::monotonic_ns();
  for (int i = 0; i < 20 && !rig.p.ready(); ++i) rig.step(1, now);
  REQUIRE(rig.p.ready());
  const std::vector<uint8_t> ops = rig.opcodes();
  REQUIRE(ops.size() >= 3);
  CHECK(ops[ops.size() - 3] == IORING_OP_FSYNC);  // the directory's
  CHECK(ops[ops.size() - 2] == IORING_OP_WRITE);
  CHECK(ops[ops.size() - 1] == IORING_OP_FSYNC);
  CHECK(rig.runner.taken.back().sqe.fd == ledger);
  CHECK((rig.runner.taken.back().sqe.fsync_flags & IORING_FSYNC_DATASYNC) != 0);
  auto read = load_ledger(tmp.path());
  REQUIRE(read.ok());
  REQUIRE(read.value().highest.size() == 4);
  CHECK(read.value().highest[3] == 1);
  ::close(rig.p.take().fd);
  ::close(ledger);
}

// Issue 15: with the allocation refused the preparer must not go on to zero-fill (later zero
// writes would hit ENOSPC too, hiding the skipped check), and must leave no .tmp behind.
TEST_CASE("a refused allocation reports ENOSPC, writes no zeros and removes the .tmp through the ring",
          "[storage][preparer]") {
  TempDir tmp;
  PrepRig rig(tmp.sub("shard-00"));
  rig.runner.inject(IORING_OP_FALLOCATE, -ENOSPC);
  const uint64_t now = base::monotonic_ns();
  rig.step(1, now);  // OPENAT: the .tmp exists now
  CHECK(exists(segment_path(rig.dir, 1) + ".tmp"));
  rig.step(1, now);  // FALLOCATE: refused
  CHECK(rig.p.error() == -ENOSPC);
  CHECK_FALSE(rig.p.ready());
  CHECK(rig.p.busy());  // the clean-up is due
  rig.step(1, now);  // UNLINKAT
  CHECK_FALSE(rig.p.busy());
  CHECK(rig.opcodes() == std::vector<uint8_t>{IORING_OP_OPENAT, IORING_OP_FALLOCATE, IORING_OP_UNLINKAT});
  CHECK(rig.runner.count(LogOp::prepare, IORING_OP_WRITE_FIXED) == 0);
  CHECK_FALSE(exists(segment_path(rig.dir, 1) + ".tmp"));
  CHECK_FALSE(exists(segment_path(rig.dir, 1)));
  CHECK(rig.p.error() == -ENOSPC);  // still reported until a segment is prepared

  // Retried no sooner than a second later; then it succeeds and the error clears.
  rig.p.submit(rig.sink, 1, now + 999'999'999);
  CHECK(rig.sink.queued.empty());
  for (int i = 0; i < 20 && !rig.p.ready(); ++i) rig.step(1, now + 1'000'000'000);
  CHECK(rig.p.ready());
  CHECK(rig.p.error() == 0);
  ::close(rig.p.take().fd);
}

TEST_CASE("a failed fsync abandons the attempt and removes the .tmp; a failed directory fsync keeps the file",
          "[storage][preparer]") {
  TempDir tmp;
  PrepRig rig(tmp.sub("shard-00"));
  const uint64_t now = base::monotonic_ns();
  const bool dir_fsync = GENERATE(false, true);
  INFO("the failed fsync is the " << (dir_fsync ? "directory's" : "file's"));
  if (dir_fsync) rig.runner.inject(IORING_OP_RENAMEAT, 0);  // pretend-rename, so the next FSYNC is the dir's
  // The file's fsync is the first FSYNC; with the rename faked, the directory's follows it.
  for (int i = 0; i < 20 && rig.p.error() == 0; ++i) {
    if (rig.runner.count(LogOp::prepare, IORING_OP_FSYNC) == (dir_fsync ? 1u : 0u))
      rig.runner.inject(IORING_OP_FSYNC, -EIO);
    rig.step(1, now);
  }
  CHECK(rig.p.error() == -EIO);
  if (rig.p.busy()) rig.step(1, now);  // the clean-up
  CHECK_FALSE(rig.p.busy());
  CHECK_FALSE(rig.p.ready());
  CHECK(rig.runner.count(LogOp::prepare, IORING_OP_UNLINKAT) == (dir_fsync ? 0u : 1u));
  CHECK_FALSE(exists(segment_path(rig.dir, 1)));  // never renamed (the dir case faked the rename)
  CHECK(exists(segment_path(rig.dir, 1) + ".tmp") == dir_fsync);
}

TEST_CASE("a segment prepared before a restart is adopted as ready", "[storage][preparer]") {
  TempDir tmp;
  PrepRig rig(tmp.sub("shard-00"));
  REQUIRE(create_segment_sync(segment_path(rig.dir, 4), kSegmentBytes) == 0);
  const int fd = open_segment(segment_path(rig.dir, 4), false);
  REQUIRE(fd >= 0);
  rig.p.adopt(4, fd, kSegmentBytes);
  CHECK(rig.p.ready());
  CHECK(rig.p.ready_index() == 4);
  rig.p.submit(rig.sink, 4, base::monotonic_ns());
  CHECK(rig.sink.queued.empty());
  const SegmentPreparer::Prepared seg = rig.p.take();
  CHECK(seg.fd == fd);
  CHECK(seg.bytes == kSegmentBytes);
  ::close(seg.fd);
}
