// Torn writes and damage, made by the test on the files of a server stopped with SIGTERM:
//  - the last segment cut at every byte offset of its last two records (the tail zeroed, as in
//    a fixed-size pre-zeroed segment whose last write did not finish; and a real truncate() for
//    a few offsets): recovery (in process for every offset, the real binary for every 16th)
//    drops exactly the torn records, keeps every earlier one, and the server takes new POSTs;
//  - random garbage after the last record is voided, and the next start is clean;
//  - a flipped bit in the middle record stops the start with exit status 1, naming the file
//    and the offset, and leaves the file as it was.
#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "busyring/storage/recovery.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"
#include "harness.h"
#include "load_driver.h"
#include "log_files.h"

using namespace blackbox;
namespace storage = busyring::storage;

namespace {

const std::vector<std::string> kOneShard = {"--threads", "1"};


// A one-shard log: `sequential` records posted one at a time (one write each), then a
// pipelined burst of `burst` (the group commit puts several in one write). SIGTERM.
std::vector<SegmentFile> make_log(const std::string& data_dir, int sequential, int burst) {
  auto server = start_server(data_dir, kOneShard);
  {
    Client c(server->port());
    for (int i = 0; i < sequential; ++i)
      REQUIRE(roundtrip(c, post_request(usage_body("seq-" + std::to_string(i)))).status == 201);
    std::string requests;
    for (int i = 0; i < burst; ++i) requests += post_request(usage_body("burst-" + std::to_string(i)));
    REQUIRE(c.send(requests));
    for (int i = 0; i < burst; ++i) {
      const auto r = c.read_response();
      REQUIRE(r.has_value());
      REQUIRE(r->status == 201);
    }
  }
  stop_cleanly(*server);
  auto segments = read_shard(data_dir, 0);
  uint64_t records = 0;
  for (const auto& s : segments) records += s.records.size();
  REQUIRE(records == static_cast<uint64_t>(sequential + burst));
  return segments;
}

// The last segment that holds records.
size_t last_written(const std::vector<SegmentFile>& segments) {
  for (size_t i = segments.size(); i-- > 0;)
    if (!segments[i].records.empty()) return i;
  FAIL("no segment holds records");
  return 0;
}

IdBodies all_records(const std::vector<SegmentFile>& segments) {
  IdBodies out;
  for (const auto& s : segments)
    for (const auto& r : s.records) out.emplace(r.id, r.body);
  return out;
}

enum class Cut { zero_tail, truncate };

// What a cut at `offset` of segment `which` must leave: every record of the other segments and
// those of `which` whose CRC-covered bytes end at or before the cut; torn when a record is
// partly left (it starts before the cut and ends after). A truncate() to a length that is not
// a multiple of 8 leaves the scanner only the whole 8-byte words before it.
struct Expected {
  IdBodies records;
  bool torn = false;
};

Expected expected_after_cut(const std::vector<SegmentFile>& segments, size_t which, uint64_t offset,
                            Cut cut) {
  const uint64_t visible = cut == Cut::truncate ? offset / 8 * 8 : offset;
  Expected e;
  for (size_t i = 0; i < segments.size(); ++i) {
    for (const auto& r : segments[i].records) {
      if (i != which || r.meaningful_end() <= visible) e.records.emplace(r.id, r.body);
      else if (r.offset < visible) e.torn = true;
    }
  }
  return e;
}

std::vector<SegmentFile> cut_copy(const std::vector<SegmentFile>& segments, size_t which, uint64_t offset,
                                  Cut cut) {
  std::vector<SegmentFile> out = segments;
  auto& bytes = out[which].bytes;
  REQUIRE(offset <= bytes.size());
  if (cut == Cut::zero_tail) std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end(), 0);
  else bytes.resize(offset);
  return out;
}

class Collector final : public storage::RecordVisitor {
 public:
  bool on_record(const storage::RecordView& r, uint64_t) override {
    duplicate = duplicate || !records.emplace(r.id, std::string(reinterpret_cast<const char*>(r.body), r.body_bytes)).second;
    return true;
  }
  IdBodies records;
  bool duplicate = false;
};

// recover_shard(repair = true) as the server runs it at start, then once more: the repair is
// stable (the second pass finds nothing torn and the same records).
void check_recovery_in_process(const std::string& data_dir, const Expected& e) {
  const std::string dir = storage::shard_dir(data_dir, 0);
  for (int pass = 0; pass < 2; ++pass) {
    INFO("recovery pass " << pass);
    Collector c;
    const auto result = storage::recover_shard(dir, true, &c);
    INFO((result ? std::string("ok") : result.error()));
    REQUIRE(result.ok());
    CHECK(result.value().torn_tails == (pass == 0 && e.torn ? 1u : 0u));
    CHECK_FALSE(c.duplicate);
    REQUIRE(c.records == e.records);
  }
}

// The real binary on the damaged dir: it starts, says whether it voided a torn tail, takes a
// POST (a new id), stops cleanly, and the log then holds the survivors plus the new record.
void check_recovery_by_server(const std::string& data_dir, const Expected& e) {
  auto server = start_server(data_dir, kOneShard);
  const std::string err = server->stderr_text();
  INFO(err);
  CHECK((err.find("torn tail") != std::string::npos) == e.torn);
  CHECK(err.find(std::to_string(e.records.size()) + " records recovered") != std::string::npos);
  IdBodies expected = e.records;
  {
    Client c(server->port());
    const std::string body = usage_body("after-recovery");
    const Response r = roundtrip(c, post_request(body));
    REQUIRE(r.status == 201);
    const uint64_t id = id_of(r);
    CHECK(e.records.count(id) == 0);
    expected.emplace(id, body);
  }
  stop_cleanly(*server);
  CHECK(stored_unique(data_dir) == expected);
}

}  // namespace

// Two layouts: the last two records written by one write (a pipelined burst, adjacent in the
// file), and by two writes (sequential posts: the second starts on a fresh sector, with the
// first write's zero padding between them).
TEST_CASE("a tail cut at every byte of the last two records loses only the torn records",
          "[durability][torn]") {
  struct Layout {
    const char* name;
    int sequential, burst;
  };
  for (const Layout layout : {Layout{"one write", 16, 8}, Layout{"two writes", 12, 0}}) {
    INFO("last two records in " << layout.name);
    TempDir original;
    const auto segments = make_log(original.path(), layout.sequential, layout.burst);
    const size_t which = last_written(segments);
    const auto& recs = segments[which].records;
    REQUIRE(recs.size() >= 2);
    const RecordAt& before_last = recs[recs.size() - 2];
    const RecordAt& last = recs.back();
    const uint64_t from = before_last.offset;
    const uint64_t to = last.offset + last.record_bytes;
    INFO("cutting " << segments[which].path << " at every offset in [" << from << ", " << to << ")");
    uint64_t torn = 0, server_runs = 0;
    const int64_t sweep_started_ms = now_ms();
    {
      CapturedStderr quiet;  // recovery logs one line per torn tail
      for (uint64_t offset = from; offset < to; ++offset) {
        INFO("tail zeroed from offset " << offset);
        const auto damaged = cut_copy(segments, which, offset, Cut::zero_tail);
        const Expected e = expected_after_cut(segments, which, offset, Cut::zero_tail);
        REQUIRE(e.records.size() >= recs.size() - 2);
        torn += e.torn ? 1 : 0;
        TempDir work;
        write_shard(work.path(), 0, damaged);
        check_recovery_in_process(work.path(), e);
      }
      CHECK(quiet.text().find("torn tail") != std::string::npos);
    }
    CHECK(torn > 0);
    const int64_t servers_started_ms = now_ms();
    for (uint64_t offset = from; offset < to; offset += 16) {
      INFO("real binary, tail zeroed from offset " << offset);
      TempDir work;
      write_shard(work.path(), 0, cut_copy(segments, which, offset, Cut::zero_tail));
      check_recovery_by_server(work.path(), expected_after_cut(segments, which, offset, Cut::zero_tail));
      ++server_runs;
    }
    WARN("last two records in " << layout.name << ": " << to - from << " cut offsets recovered in process ("
                                << torn << " torn) in " << servers_started_ms - sweep_started_ms << " ms, "
                                << server_runs << " by the real binary in " << now_ms() - servers_started_ms
                                << " ms");
  }
}

TEST_CASE("a segment truncate()d inside its last two records recovers like a zeroed tail",
          "[durability][torn]") {
  TempDir original;
  const auto segments = make_log(original.path(), 10, 6);
  const size_t which = last_written(segments);
  const auto& recs = segments[which].records;
  REQUIRE(recs.size() >= 2);
  const RecordAt& a = recs[recs.size() - 2];
  const RecordAt& b = recs.back();
  const std::vector<uint64_t> offsets = {a.offset + 1,       a.offset + 12,   a.offset + 40,
                                         a.meaningful_end(), b.offset,        b.offset + 3,
                                         b.offset + 33,      b.meaningful_end() - 1,
                                         b.offset + b.record_bytes};
  for (const uint64_t offset : offsets) {
    INFO("truncated to " << offset << " bytes");
    const Expected e = expected_after_cut(segments, which, offset, Cut::truncate);
    {
      TempDir work;
      write_shard(work.path(), 0, cut_copy(segments, which, offset, Cut::truncate));
      CapturedStderr quiet;
      check_recovery_in_process(work.path(), e);
    }
    TempDir work;
    write_shard(work.path(), 0, cut_copy(segments, which, offset, Cut::truncate));
    check_recovery_by_server(work.path(), e);
  }
}

TEST_CASE("random garbage after the last record is voided, and the next start is clean",
          "[durability][torn]") {
  TempDir original;
  const auto segments = make_log(original.path(), 8, 4);
  const size_t which = last_written(segments);
  const IdBodies before = all_records(segments);
  std::mt19937 rng(20261125);
  std::uniform_int_distribution<int> byte(1, 255);
  for (const size_t garbage_bytes : {size_t{1}, size_t{7}, size_t{100}, size_t{513}, size_t{5000}}) {
    INFO(garbage_bytes << " bytes of garbage after the last record");
    auto damaged = segments;
    auto& bytes = damaged[which].bytes;
    const uint64_t at = damaged[which].data_end;
    REQUIRE(at + garbage_bytes <= bytes.size());
    for (size_t i = 0; i < garbage_bytes; ++i) bytes[at + i] = static_cast<uint8_t>(byte(rng));
    TempDir work;
    write_shard(work.path(), 0, damaged);
    IdBodies expected = before;
    {
      auto server = start_server(work.path(), kOneShard);
      const std::string err = server->stderr_text();
      INFO(err);
      CHECK(err.find("torn tail") != std::string::npos);
      CHECK(err.find(std::to_string(before.size()) + " records recovered") != std::string::npos);
      Client c(server->port());
      const std::string body = usage_body("after-garbage");
      const Response r = roundtrip(c, post_request(body));
      REQUIRE(r.status == 201);
      CHECK(before.count(id_of(r)) == 0);
      expected.emplace(id_of(r), body);
      stop_cleanly(*server);
    }
    CHECK(stored_unique(work.path()) == expected);
    {
      auto server = start_server(work.path(), kOneShard);
      const std::string err = server->stderr_text();
      INFO("second start:\n" << err);
      CHECK(err.find("torn") == std::string::npos);
      CHECK(err.find(std::to_string(expected.size()) + " records recovered") != std::string::npos);
      stop_cleanly(*server);
    }
    CHECK(stored_unique(work.path()) == expected);
  }
}

TEST_CASE("a flipped bit in the middle record stops the start with status 1, naming file and offset",
          "[durability][torn]") {
  TempDir original;
  const auto segments = make_log(original.path(), 9, 0);
  const size_t which = last_written(segments);
  const auto& recs = segments[which].records;
  REQUIRE(recs.size() >= 3);
  const RecordAt& middle = recs[recs.size() / 2];
  struct Flip {
    const char* what;
    uint64_t byte;
    uint8_t mask;
  };
  const std::vector<Flip> flips = {
      {"magic", middle.offset + 0, 0x01},        {"body length", middle.offset + 9, 0x02},
      {"crc", middle.offset + 13, 0x80},         {"id", middle.offset + 16, 0x04},
      {"arrival time", middle.offset + 27, 0x10}, {"first body byte", middle.offset + 32, 0x01},
      {"last body byte", middle.meaningful_end() - 1, 0x40},
  };
  for (const Flip& flip : flips) {
    INFO("bit flipped in the " << flip.what << " of the record at offset " << middle.offset);
    auto damaged = segments;
    damaged[which].bytes[flip.byte] ^= flip.mask;
    TempDir work;
    write_shard(work.path(), 0, damaged);
    const std::string path = storage::segment_path(storage::shard_dir(work.path(), 0), damaged[which].index);
    ServerProcess server({"--port", "0", "--data-dir", work.path(), "--threads", "1", "--segment-size", "1M"});
    const ExitStatus st = server.wait_exit(10'000);
    const std::string err = server.stderr_text();
    INFO(describe(st) << "\nstderr:\n" << err);
    CHECK(st.exited);
    CHECK(st.code == 1);
    CHECK(err.find("listening on") == std::string::npos);
    CHECK(err.find(path) != std::string::npos);
    CHECK(err.find("offset " + std::to_string(middle.offset)) != std::string::npos);
    CHECK(read_bytes(path) == damaged[which].bytes);  // refused, not repaired
  }
}
