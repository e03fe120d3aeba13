// /metrics' write counters against the disk, under concurrent pipelined load (so that each log
// write holds many records): busyring_records_written_total is exactly the number of records
// acknowledged and found on disk (records, not log writes), and busyring_bytes_written_total is
// exactly the bytes the log writes covered, padding included: each write starts on a fresh
// aligned offset where the one before ended, so a segment's writes tile it from 0 to its last
// record's end rounded up to the direct-I/O alignment.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "busyring/base/align.h"
#include "busyring/storage/segment.h"
#include "harness.h"
#include "hostile.h"
#include "load_driver.h"
#include "log_files.h"

using namespace blackbox;

namespace {

constexpr uint64_t kRecords = 4'000;

uint64_t counter(const std::string& metrics, const char* name) {
  const auto v = metric_value(metrics, name);
  INFO(name << " in\n" << metrics);
  REQUIRE(v.has_value());
  return static_cast<uint64_t>(*v);
}

// The bytes the log writes of data_dir covered: per segment, from 0 to the aligned end of its
// last record.
uint64_t bytes_covered_by_writes(const std::string& data_dir) {
  namespace storage = busyring::storage;
  std::vector<uint32_t> shards;
  REQUIRE(storage::list_shards(data_dir, shards) == 0);
  uint64_t total = 0;
  for (const uint32_t shard : shards) {
    for (const SegmentFile& segment : read_shard(data_dir, shard)) {
      storage::DioAlign align;
      REQUIRE(storage::dio_alignment(segment.path, align) == 0);
      total += busyring::base::align_up(segment.data_end, align.offset);
    }
  }
  return total;
}

}  // namespace

TEST_CASE("records and bytes written on /metrics are the records acknowledged and the bytes on disk, "
          "under pipelined load",
          "[blackbox][metrics]") {
  TestServer s;
  IdBodies acked;
  {
    LoadDriver load(s.port(), LoadOptions{8, 16, "counted", 0});
    REQUIRE(load.wait_acked(kRecords, 60'000));
    load.stop();  // every answer owed is read: what was written was acknowledged
    for (const auto& log : load.logs()) {
      CHECK(log.other_statuses.empty());
      CHECK(log.unavailable == 0);
    }
    acked = load.acked_ids();
  }
  const std::string m = metrics_text(s.port());
  const uint64_t records = counter(m, "busyring_records_written_total");
  const uint64_t bytes = counter(m, "busyring_bytes_written_total");
  const uint64_t flushes = counter(m, "busyring_flushes_total");
  INFO(acked.size() << " acknowledged, " << flushes << " log writes; /metrics says " << records << " records, "
                    << bytes << " bytes");
  // Batches held several records; otherwise records and writes could not be told apart.
  REQUIRE(flushes * 2 <= acked.size());
  CHECK(records == acked.size());
  CHECK(requests_with_status(m, 201) == static_cast<double>(acked.size()));
  CHECK(counter(m, "busyring_flush_records_count") == flushes);

  const ExitStatus st = s.server->stop();
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  const IdBodies on_disk = stored_unique(s.dir.path());
  CHECK(on_disk == acked);
  CHECK(records == on_disk.size());
  const uint64_t covered = bytes_covered_by_writes(s.dir.path());
  CHECK(bytes == covered);
  std::printf("records written: %zu acknowledged in %llu log writes (%.1f records each), %llu bytes written, "
              "%llu covered by the writes on disk\n",
              acked.size(), static_cast<unsigned long long>(flushes),
              static_cast<double>(acked.size()) / static_cast<double>(flushes), static_cast<unsigned long long>(bytes),
              static_cast<unsigned long long>(covered));
}
