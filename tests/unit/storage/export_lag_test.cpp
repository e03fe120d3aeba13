// The export lag's measurement (storage/export_lag.h) on synthetic data dirs: the oldest
// record the checkpoint does not cover, per shard in segment order, with marks matched by
// fingerprint, sealed segments skipped (and their fingerprints cached until they are retired),
// padding and a voided write after the mark walked over, and 0 when everything is covered.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "busyring/storage/export_lag.h"
#include "busyring/storage/record.h"
#include "busyring/storage/segment.h"
#include "../support/temp_dir.h"
#include "segment_image.h"

using namespace busyring;
using busyring::test::SegmentImage;
using busyring::test::TempDir;

namespace {

constexpr size_t kBytes = 64 * 1024;
const std::string kBody = R"({"patientId":"1","timestamp":"t","medication":"m"})";

struct Data {
  TempDir tmp;
  std::string dir() const { return tmp.sub("data"); }
  std::string put(uint32_t shard, uint32_t index, SegmentImage& img) {
    const std::string d = storage::shard_dir(dir(), shard);
    REQUIRE(storage::make_dirs(d) == 0);
    const std::string path = storage::segment_path(d, index);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
    REQUIRE(f.good());
    return path;
  }
};

uint64_t oldest(const Data& d, const storage::Checkpoint& c) {
  storage::ExportLagGauge::FingerprintCache cache;
  return storage::ExportLagGauge::oldest_uncovered_ns(d.dir(), c, cache);
}

storage::SegmentMark mark(uint32_t shard, uint32_t segment, uint64_t offset, uint64_t first_id, uint64_t first_arrival,
                          bool sealed) {
  return storage::SegmentMark{0, shard, segment, offset, first_id, first_arrival, sealed};
}

storage::Checkpoint checkpoint(std::vector<storage::SegmentMark> marks) {
  return storage::Checkpoint{1, 0, 1, std::move(marks)};
}

}  // namespace

TEST_CASE("export lag: no checkpoint, the oldest record of any shard; none at all, 0", "[storage][export_lag]") {
  Data d;
  CHECK(oldest(d, {}) == 0);  // no data dir yet
  SegmentImage a(kBytes), b(kBytes), empty(kBytes);
  a.add(1, kBody, 500);
  a.add(3, kBody, 600);
  b.add(2, kBody, 300);
  d.put(0, 0, a);
  d.put(1, 0, b);
  d.put(1, 1, empty);  // the prepared next segment: no record
  CHECK(oldest(d, {}) == 300);
}

TEST_CASE("export lag: the first record past each shard's mark; 0 once every mark is at the end",
          "[storage][export_lag]") {
  Data d;
  SegmentImage a(kBytes), b(kBytes);
  a.add(1, kBody, 500);
  const uint64_t a_second = a.add(3, kBody, 600);
  const uint64_t a_end = a.cursor;
  const uint64_t b_end = (b.add(2, kBody, 300), b.cursor);
  d.put(0, 0, a);
  d.put(1, 0, b);
  CHECK(oldest(d, checkpoint({mark(0, 0, a_second, 1, 500, false), mark(1, 0, b_end, 2, 300, false)})) == 600);
  CHECK(oldest(d, checkpoint({mark(0, 0, a_end, 1, 500, false), mark(1, 0, b_end, 2, 300, false)})) == 0);
  // A shard the checkpoint does not name at all: all of it waits.
  CHECK(oldest(d, checkpoint({mark(0, 0, a_end, 1, 500, false)})) == 300);
}

TEST_CASE("export lag: sealed segments are covered, a later one is read from its start", "[storage][export_lag]") {
  Data d;
  SegmentImage s0(kBytes), s1(kBytes);
  s0.add(1, kBody, 100);
  s1.add(2, kBody, 900);
  const std::string first = d.put(0, 0, s0);
  d.put(0, 1, s1);
  storage::ExportLagGauge::FingerprintCache cache;
  const storage::Checkpoint c = checkpoint({mark(0, 0, 0, 1, 100, true)});
  CHECK(storage::ExportLagGauge::oldest_uncovered_ns(d.dir(), c, cache) == 900);
  CHECK(cache.size() == 1);  // segment 0's fingerprint, not read again
  CHECK(storage::ExportLagGauge::oldest_uncovered_ns(d.dir(), c, cache) == 900);
  // Retired: gone from the log, and from the cache.
  REQUIRE(::unlink(first.c_str()) == 0);
  CHECK(storage::ExportLagGauge::oldest_uncovered_ns(d.dir(), c, cache) == 900);
  CHECK(cache.empty());
}

TEST_CASE("export lag: a mark with another fingerprint (another log's checkpoint) covers nothing",
          "[storage][export_lag]") {
  Data d;
  SegmentImage s0(kBytes);
  s0.add(1, kBody, 100);
  const uint64_t end = s0.cursor;
  d.put(0, 0, s0);
  CHECK(oldest(d, checkpoint({mark(0, 0, end, 7, 100, true)})) == 100);
  CHECK(oldest(d, checkpoint({mark(0, 0, end, 1, 101, false)})) == 100);
  CHECK(oldest(d, checkpoint({mark(0, 0, end, 1, 100, false)})) == 0);
}

TEST_CASE("export lag: padding and a voided write after the mark are walked over", "[storage][export_lag]") {
  Data d;
  SegmentImage img(kBytes);
  img.add(1, kBody, 100);
  const uint64_t end = img.cursor;
  img.end_write();                        // zero padding up to the alignment
  const uint64_t failed = img.cursor;     // a failed write, voided by the writer's skip marker
  img.skip(failed, failed + 512);
  img.raw(std::string(100, '\x5a'));      // what the failed write left
  img.cursor = failed + 512;
  img.add(2, kBody, 700);
  d.put(0, 0, img);
  CHECK(oldest(d, checkpoint({mark(0, 0, end, 1, 100, false)})) == 700);

  SegmentImage padded(kBytes);
  padded.add(1, kBody, 100);
  const uint64_t padded_end = padded.cursor;
  padded.end_write();
  padded.add(2, kBody, 800);
  d.put(1, 0, padded);
  CHECK(oldest(d, checkpoint({mark(0, 0, img.cursor, 1, 100, false), mark(1, 0, padded_end, 1, 100, false)})) == 800);
}
