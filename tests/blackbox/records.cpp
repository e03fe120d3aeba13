// Reads a data dir back with the server's own codec: every shard-KK directory, scanned with
// recover_shard(repair = false), so the test sees exactly what a restart would recover and
// never changes the files it inspects.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "busyring/storage/recovery.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"
#include "harness.h"

namespace blackbox {
namespace {

class Collector final : public busyring::storage::RecordVisitor {
 public:
  Collector(std::vector<StoredRecord>& out, uint32_t shard) : out_(out), shard_(shard) {}
  bool on_record(const busyring::storage::RecordView& record, uint64_t) override {
    StoredRecord r;
    r.id = record.id;
    r.body.assign(reinterpret_cast<const char*>(record.body), record.body_bytes);
    r.shard = shard_;
    out_.push_back(std::move(r));
    return true;
  }

 private:
  std::vector<StoredRecord>& out_;
  uint32_t shard_;
};

}  // namespace

std::vector<StoredRecord> read_records(const std::string& data_dir) {
  namespace storage = busyring::storage;
  std::vector<uint32_t> shards;
  REQUIRE(storage::list_shards(data_dir, shards) == 0);
  std::vector<StoredRecord> out;
  for (const uint32_t shard : shards) {
    Collector collector(out, shard);
    const auto result = storage::recover_shard(storage::shard_dir(data_dir, shard), false, &collector);
    INFO("recovery of shard " << shard << ": " << (result ? "ok" : result.error()));
    REQUIRE(result.ok());
  }
  return out;
}

}  // namespace blackbox
