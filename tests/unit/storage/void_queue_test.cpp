// storage/void_queue: each failed write is voided on disk by a skip marker over its start,
// oldest first, through a descriptor the queue opens on the ring (O_DSYNC when durable), reused
// for the next range of the same segment; a failed marker write is retried a second later
// through a fresh descriptor. Driven through a fake sink run on a real ring (fake_sink.h).
#include "busyring/storage/void_queue.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "../support/temp_dir.h"
#include "busyring/base/clock.h"
#include "busyring/storage/record.h"
#include "busyring/storage/segment.h"
#include "fake_sink.h"

using namespace busyring;
using namespace busyring::storage;
using namespace busyring::test;

namespace {

constexpr uint32_t kAlign = 4096;  // any DIO alignment works for a page-sized block

struct VoidRig {
  explicit VoidRig(const std::string& shard_dir, bool dsync) : dir(shard_dir) {
    REQUIRE(make_dirs(dir) == 0);
    for (uint32_t s = 0; s < 2; ++s) REQUIRE(create_segment_sync(segment_path(dir, s), 64 * 1024) == 0);
    block = static_cast<uint8_t*>(alloc_aligned(kAlign));
    q.init(dir, dsync, kAlign, block);
  }
  ~VoidRig() { free_aligned(block, kAlign); }

  void step(uint64_t now_ns) {
    q.submit(sink, now_ns);
    if (sink.queued.empty()) return;
    REQUIRE(sink.queued.size() == 1);
    REQUIRE(sink.queued[0].op == LogOp::void_mark);
    std::vector<Completion> done = runner.start(sink);
    if (done.empty()) done = runner.wait();
    REQUIRE(done.size() == 1);
    q.on_complete(done[0].seq, done[0].res, now_ns);
  }

  // The record at `offset` of segment `s`, decoded.
  RecordView read(uint32_t s, uint64_t offset, std::vector<uint8_t>& bytes) const {
    bytes.assign(kAlign, 0);
    const int fd = ::open(segment_path(dir, s).c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(pread(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) == kAlign);
    ::close(fd);
    RecordView v{};
    REQUIRE(decode_record(bytes.data(), bytes.size(), v) == DecodeStatus::ok);
    return v;
  }

  std::string dir;
  uint8_t* block = nullptr;
  RingRunner runner;
  FakeSink sink;
  VoidQueue q;
};

}  // namespace

TEST_CASE("failed ranges are voided oldest first by skip markers written through the ring",
          "[storage][void]") {
  TempDir tmp;
  const bool dsync = GENERATE(false, true);
  VoidRig rig(tmp.sub("shard-00"), dsync);
  rig.q.push(VoidRange{0, 8192, 12288});
  rig.q.push(VoidRange{0, 16384, 20480});
  rig.q.push(VoidRange{1, 0, 4096});
  const uint64_t now = base::monotonic_ns();
  for (int i = 0; i < 10 && !rig.q.empty(); ++i) rig.step(now);
  CHECK(rig.q.empty());
  std::vector<uint8_t> ops;
  for (const QueuedSqe& s : rig.runner.taken) ops.push_back(s.sqe.opcode);
  // Segment 0 opened once for its two ranges, segment 1 opened for its own.
  CHECK(ops == std::vector<uint8_t>{IORING_OP_OPENAT, IORING_OP_WRITE, IORING_OP_WRITE, IORING_OP_OPENAT,
                                    IORING_OP_WRITE});
  const uint32_t flags = rig.runner.taken[0].sqe.open_flags;
  CHECK((flags & O_DIRECT) != 0);
  CHECK(((flags & O_DSYNC) == O_DSYNC) == dsync);

  std::vector<uint8_t> bytes;
  RecordView v = rig.read(0, 8192, bytes);
  CHECK(v.kind == RecordKind::skip);
  CHECK(v.id == 8192);            // a marker over a failed write voids [its offset, end)
  CHECK(v.arrival_ns == 12288);
  v = rig.read(0, 16384, bytes);
  CHECK(v.id == 16384);
  CHECK(v.arrival_ns == 20480);
  v = rig.read(1, 0, bytes);
  CHECK(v.kind == RecordKind::skip);
  CHECK(v.arrival_ns == 4096);
}

TEST_CASE("a failed marker write is retried a second later through a fresh descriptor", "[storage][void]") {
  TempDir tmp;
  VoidRig rig(tmp.sub("shard-00"), true);
  rig.q.push(VoidRange{0, 4096, 8192});
  rig.runner.inject(IORING_OP_WRITE, -EIO);
  const uint64_t now = base::monotonic_ns();
  rig.step(now);  // open
  rig.step(now);  // the marker: fails
  CHECK_FALSE(rig.q.empty());
  rig.step(now + 999'999'999);
  CHECK(rig.runner.taken.size() == 2);  // nothing before a second has passed
  rig.step(now + 1'000'000'000);        // opened again...
  rig.step(now + 1'000'000'000);        // ... and written
  CHECK(rig.q.empty());
  std::vector<uint8_t> ops;
  for (const QueuedSqe& s : rig.runner.taken) ops.push_back(s.sqe.opcode);
  CHECK(ops == std::vector<uint8_t>{IORING_OP_OPENAT, IORING_OP_WRITE, IORING_OP_OPENAT, IORING_OP_WRITE});
  std::vector<uint8_t> bytes;
  CHECK(rig.read(0, 4096, bytes).kind == RecordKind::skip);
}
