// Failed log writes under load, injected by busyring-faulty at the completion boundary
// (BUSYRING_FAULTS, counted per shard thread: see include/busyring/storage/fault_hook.h): the
// requests of a failed write get 503 with Retry-After, the server logs one line per failed
// write, nothing is falsely acknowledged (the ids on disk are exactly the ids answered 201, the
// failed range being voided by a skip marker), and the shard acknowledges again without a
// restart. The last test gets the same from a real disk error: the kernel's EIO from a loop
// device under ext4 whose sectors fail writes (bad_disk.h: FUSE-backed, since these VMs'
// kernels have no device-mapper), with the unmodified server binary.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "bad_disk.h"
#include "busyring/storage/segment.h"
#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

struct Fault {
  const char* spec;        // BUSYRING_FAULTS
  const char* error_text;  // what the log line says went wrong
  int failed_writes;       // log writes the spec fails
  int pipeline = 1;        // requests each connection sends before reading the answers
};

// The faulty binary on a fresh dir with one shard, BUSYRING_FAULTS set in its environment only.
std::unique_ptr<ServerProcess> start_faulty(const std::string& data_dir, const Fault& fault) {
  const std::string bin = faulty_bin();
  INFO("fault build " << bin << " (make build/release/busyring-faulty)");
  REQUIRE(access(bin.c_str(), X_OK) == 0);
  ScopedEnv use_bin("BUSYRING_BIN", bin);
  ScopedEnv faults("BUSYRING_FAULTS", fault.spec);
  return start_server(data_dir, {"--threads", "1", "--ack", "durable"});
}

std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

// "... failed: <error>; its N records are answered 503 ..." -> N
uint64_t records_in_line(const std::string& line) {
  const size_t at = line.find("; its ");
  if (at == std::string::npos) return 0;
  return std::strtoull(line.c_str() + at + 6, nullptr, 10);
}

// With the faults under way: the shard must answer 503 and then acknowledge again, under the
// same load, without a restart; then everything below holds, `failed_writes` writes having
// failed with `error_text`.
void check_failed_writes(ServerProcess& server, LoadDriver& load, const std::string& data_dir, int failed_writes,
                         const char* error_text) {
  INFO("stderr:\n" << server.stderr_text());
  REQUIRE(wait_until([&] { return load.unavailable() > 0; }, 10'000));
  const uint64_t acked_at_first_503 = load.acked();
  REQUIRE(load.wait_acked(acked_at_first_503 + 300, 10'000));
  load.stop();

  uint64_t unavailable = 0, acked_after_503 = 0;
  int64_t first_503_ms = INT64_MAX, last_201_ms = 0;
  for (const auto& log : load.logs()) {
    CHECK(log.other_statuses.empty());
    CHECK(log.bad_201_bodies.empty());
    CHECK(log.unavailable_without_retry_after == 0);
    unavailable += log.unavailable;
    acked_after_503 += log.acked_after_503;
    if (log.first_503_ms != 0) first_503_ms = std::min(first_503_ms, log.first_503_ms);
    if (!log.acked.empty()) last_201_ms = std::max(last_201_ms, log.acked.back().at_ms);
  }
  CHECK(unavailable > 0);
  CHECK(acked_after_503 > 0);
  CHECK(last_201_ms > first_503_ms);

  Client c(server.port());
  CHECK(wait_until([&] { return roundtrip(c, get_request("/healthz")).status == 200; }, 5'000));

  const ExitStatus st = server.stop();
  const std::string err = server.stderr_text();
  INFO(describe(st) << "\nstderr:\n" << err);
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  // One clear line per failed write, saying what failed and what happened to its requests;
  // every request of a failed write got a 503 (and so did those refused while it was voided).
  const auto failed = lines_with(err, "log: write of");
  CHECK(failed.size() == static_cast<size_t>(failed_writes));
  uint64_t records_in_failed_writes = 0;
  for (const auto& line : failed) {
    CHECK(line.find(error_text) != std::string::npos);
    CHECK(line.find("503") != std::string::npos);
    records_in_failed_writes += records_in_line(line);
  }
  CHECK(records_in_failed_writes > 0);
  CHECK(unavailable >= records_in_failed_writes);
  CHECK(lines_with(err, "failed write voided").size() == static_cast<size_t>(failed_writes));

  // Nothing falsely acknowledged, nothing acknowledged lost: on disk is exactly what got 201.
  const IdBodies acked = load.acked_ids();
  const IdBodies on_disk = stored_unique(data_dir);
  CHECK(on_disk.size() == acked.size());
  for (const auto& [id, body] : on_disk) {
    INFO("id " << id << " is on disk");
    REQUIRE(acked.count(id) == 1);
    CHECK(acked.at(id) == body);
  }
  for (const auto& [id, body] : acked) {
    INFO("acknowledged id " << id);
    REQUIRE(on_disk.count(id) == 1);
  }
  WARN(error_text << ": " << unavailable << " answers 503 (" << records_in_failed_writes
                  << " records in the failed writes), " << acked.size() << " acknowledged, "
                  << on_disk.size() << " on disk");
}

void failed_writes_are_answered_503_and_never_stored(const Fault& fault) {
  TempDir dir;
  auto server = start_faulty(dir.path(), fault);
  LoadDriver load(server->port(), LoadOptions{8, fault.pipeline, std::string("fault-") + fault.spec, 0});
  // The faults hit the first few writes.
  check_failed_writes(*server, load, dir.path(), fault.failed_writes, fault.error_text);
  CHECK(server->stderr_text().find("fault injection active") != std::string::npos);  // logged at the first write
}

}  // namespace

TEST_CASE("an EIO log write is answered 503, never stored, and the shard acknowledges again",
          "[durability][io-error]") {
  failed_writes_are_answered_503_and_never_stored(Fault{"eio@5", "Input/output error", 1});
}

TEST_CASE("a short log write is answered 503, never stored, and the shard acknowledges again",
          "[durability][io-error]") {
  failed_writes_are_answered_503_and_never_stored(Fault{"short@3", "short write", 1});
}

TEST_CASE("two ENOSPC log writes in a row are answered 503, never stored, and the shard recovers",
          "[durability][io-error]") {
  failed_writes_are_answered_503_and_never_stored(Fault{"enospc@4+2", "No space left on device", 2});
}

// The write succeeded but its linked fdatasync failed: the records may sit in a cache the
// disk lost, so they are treated exactly like a failed write (PostgreSQL's fsync lesson).
TEST_CASE("a failed fdatasync after a log write is answered 503, never stored, and the shard recovers",
          "[durability][io-error]") {
  failed_writes_are_answered_503_and_never_stored(Fault{"fsync@5", "Input/output error", 1});
}

// With pipelined load the group commit gathers the next batch while the failing write is in
// flight; that batch is written (and acknowledged) only after the marker voiding the failed
// one is on disk.
TEST_CASE("an EIO log write under pipelined load fails only its own batch; the batch behind it is stored",
          "[durability][io-error]") {
  failed_writes_are_answered_503_and_never_stored(Fault{"eio@40", "Input/output error", 1, 8});
}

// A dying disk fails every write in flight: with 4 writes overlapping, failures arrive while
// an earlier one is still being voided; each waits its turn, and none is acknowledged.
TEST_CASE("four EIO log writes in a row under pipelined load are each voided; the shard recovers",
          "[durability][io-error]") {
  failed_writes_are_answered_503_and_never_stored(Fault{"eio@40+4", "Input/output error", 4, 8});
}

// The real thing: ext4 on a disk whose sectors fail writes (bad_disk.h), under the plain server.
// Once it acknowledges steadily, the next write that touches its segment files' sectors fails
// in the kernel, and the server gets EIO from its O_DIRECT write like from a dying disk.
TEST_CASE("a real EIO from the disk (ext4 on a loop device that fails a write) is answered 503, never stored, "
          "and the shard recovers",
          "[durability][io-error]") {
  BadDisk disk(256ull << 20);
  if (!disk.mounted()) FAIL("cannot build the failing disk: " << disk.why_not());
  const std::string data_dir = disk.dir() + "/data";
  auto server = start_server(data_dir, {"--threads", "1", "--ack", "durable", "--segment-size", "16M"});
  LoadDriver load(server->port(), LoadOptions{8, 1, "bad-disk", 0});
  REQUIRE(load.wait_acked(200, 20'000));
  // Every sector of every segment file: the next log write fails wherever it lands.
  std::vector<ByteRange> sectors;
  std::vector<uint32_t> segments;
  const std::string shard = data_dir + "/shard-00";
  REQUIRE(busyring::storage::list_segments(shard, segments) == 0);
  for (const uint32_t index : segments) {
    std::string why;
    const auto ranges = physical_ranges(busyring::storage::segment_path(shard, index), &why);
    INFO(why);
    REQUIRE(!ranges.empty());
    sectors.insert(sectors.end(), ranges.begin(), ranges.end());
  }
  disk.fail_writes(sectors, 1);
  check_failed_writes(*server, load, data_dir, 1, "Input/output error");
  CHECK(disk.failed_writes() == 1);
}
