// Start-up that does not grow with the retained log (issue 17 §3), on the real binary:
//  - after several segment switches, sealed segments carry summaries; a restart takes them
//    instead of scanning, and resumes exactly where a full scan says (same records, same
//    append positions), and issues the next ids without reissuing any;
//  - a damaged summary is ignored with one line, the segment scanned and summarised again;
//  - busyring-log verify checks every summary against the records and reports one that lies,
//    and finds corruption in a summarised segment that start-up (trusting the summary) skips;
//  - retire removes a retired segment's summary after the segment, and a leftover summary
//    (retire stopped between the two) is read by nobody and removed by the next run; a summary
//    never stands in for a segment removed by hand;
//  - no connection is accepted before recovery is done: a client is refused, not left hanging
//    (busyring-faulty holds recovery on a FIFO; the test releases it).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "busyring/storage/recovery.h"
#include "busyring/storage/segment.h"
#include "busyring/storage/segment_summary.h"
#include "cluster.h"
#include "harness.h"
#include "load_driver.h"
#include "log_files.h"
#include "program.h"

using namespace blackbox;
namespace storage = busyring::storage;

namespace {

// Posts n usages pipelined on one connection (so one shard takes them all); returns the ids.
std::vector<uint64_t> post_many(uint16_t port, size_t n) {
  Client c(port);
  REQUIRE(c.connected());
  const std::string one = post_request(usage_body("summary"));
  std::vector<uint64_t> ids;
  while (ids.size() < n) {
    const size_t k = std::min<size_t>(200, n - ids.size());
    std::string batch;
    for (size_t i = 0; i < k; ++i) batch += one;
    REQUIRE(c.send(batch));
    for (size_t i = 0; i < k; ++i) {
      auto r = c.read_response();
      REQUIRE(r);
      REQUIRE(r->status == 201);
      ids.push_back(id_of(*r));
    }
  }
  return ids;
}

// busyring-log verify DIR: exit status and output (stdout and stderr).
std::pair<ExitStatus, std::string> verify(const std::string& dir) {
  Program p({cluster::log_bin(), "verify", dir});
  const ExitStatus st = p.wait_exit(60'000);
  return {st, p.output()};
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Recovery of one shard dir as start-up runs it (summaries taken) and as a full scan.
struct BothWays {
  storage::ShardRecovery with_summaries;
  storage::ShardRecovery full_scan;
};
BothWays recover_both(const std::string& dir) {
  struct Everything final : storage::RecordVisitor {
    bool on_record(const storage::RecordView&, uint64_t) override { return true; }
  } everything;
  auto a = storage::recover_shard(dir, false, nullptr);
  auto b = storage::recover_shard(dir, false, &everything);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  return {a.value(), b.value()};
}

// "... recovery waits for FIFO to be written (bound [::]:PORT)" -> PORT
uint16_t port_of_gate_line(const std::string& err) {
  const size_t at = err.find("(bound ");
  REQUIRE(at != std::string::npos);
  const size_t close = err.find(')', at);
  const size_t colon = err.rfind(':', close);
  return static_cast<uint16_t>(std::stoul(err.substr(colon + 1, close - colon - 1)));
}

}  // namespace

TEST_CASE("restart after several segment switches reads summaries and resumes where a full scan says",
          "[summary]") {
  TempDir dir;
  std::vector<uint64_t> first;
  {
    auto server = start_server(dir.path());
    first = post_many(server->port(), 30'000);  // about 4 segments of 1 MiB on one shard
    REQUIRE(server->stop().code == 0);
  }
  std::set<uint32_t> shards_used;
  uint32_t summaries = 0;
  for (uint32_t shard = 0; shard < 2; ++shard) {
    std::vector<uint32_t> segs;
    if (storage::list_segments(storage::shard_dir(dir.path(), shard), segs) < 0) continue;
    for (const uint32_t s : segs) {
      struct stat st {};
      summaries += stat(storage::summary_path(storage::shard_dir(dir.path(), shard), s).c_str(), &st) == 0 ? 1 : 0;
    }
    const BothWays both = recover_both(storage::shard_dir(dir.path(), shard));
    CHECK(both.with_summaries.records == both.full_scan.records);
    CHECK(both.with_summaries.position.segment == both.full_scan.position.segment);
    CHECK(both.with_summaries.position.offset == both.full_scan.position.offset);
    if (both.with_summaries.summarised > 0) shards_used.insert(shard);
  }
  CHECK(summaries >= 3);
  CHECK(shards_used.size() == 1);

  auto server = start_server(dir.path());
  const std::string err = server->stderr_text();
  INFO(err);
  CHECK(err.find("30000 records in 2 shard dirs, " + std::to_string(summaries) + " of ") != std::string::npos);
  const std::vector<uint64_t> second = post_many(server->port(), 1000);
  REQUIRE(server->stop().code == 0);
  for (size_t i = 0; i < second.size(); ++i) REQUIRE(second[i] == 30'001 + i);  // nothing reissued

  const auto [st, out] = verify(dir.path());
  INFO(out);
  CHECK(describe(st) == "exit status 0");
  CHECK(count_of(out, "summary ok") >= summaries);
  CHECK(out.find("MISMATCH") == std::string::npos);
  const std::vector<StoredRecord> stored = read_records(dir.path());
  std::set<uint64_t> ids;
  for (const StoredRecord& r : stored) ids.insert(r.id);
  CHECK(stored.size() == 31'000);
  CHECK(ids.size() == 31'000);
  CHECK(*ids.rbegin() == 31'000);
}

TEST_CASE("a damaged summary falls back to a scan and is written again", "[summary]") {
  TempDir dir;
  {
    auto server = start_server(dir.path());
    post_many(server->port(), 20'000);
    REQUIRE(server->stop().code == 0);
  }
  std::string damaged;
  for (uint32_t shard = 0; shard < 2 && damaged.empty(); ++shard) {
    const std::string path = storage::summary_path(storage::shard_dir(dir.path(), shard), 0);
    if (access(path.c_str(), F_OK) == 0) damaged = path;
  }
  REQUIRE(!damaged.empty());
  std::vector<uint8_t> bytes = read_bytes(damaged);
  bytes[bytes.size() - 1] ^= 0x10;  // an id in the last span
  write_bytes(damaged, bytes);

  auto server = start_server(dir.path());
  const std::string err = server->stderr_text();
  INFO(err);
  CHECK(err.find("ignoring " + damaged + " (checksum mismatch): scanning the segment instead") != std::string::npos);
  CHECK(err.find("wrote the summaries of 1 sealed segment") != std::string::npos);
  CHECK(err.find("20000 records recovered") != std::string::npos);
  const std::vector<uint64_t> next = post_many(server->port(), 10);
  CHECK(next.front() == 20'001);
  REQUIRE(server->stop().code == 0);
  const auto [st, out] = verify(dir.path());
  INFO(out);
  CHECK(describe(st) == "exit status 0");
  CHECK(out.find("invalid") == std::string::npos);
}

TEST_CASE("busyring-log verify reports a summary that disagrees with its records", "[summary]") {
  TempDir dir;
  {
    auto server = start_server(dir.path());
    post_many(server->port(), 12'000);
    REQUIRE(server->stop().code == 0);
  }
  std::string shard;
  for (uint32_t k = 0; k < 2 && shard.empty(); ++k)
    if (access(storage::summary_path(storage::shard_dir(dir.path(), k), 0).c_str(), F_OK) == 0)
      shard = storage::shard_dir(dir.path(), k);
  REQUIRE(!shard.empty());
  storage::SegmentSummary s;
  std::string why;
  REQUIRE(storage::read_summary(shard, 0, s, why) == storage::SummaryRead::ok);
  s.records -= 1;  // a summary with a valid checksum that no longer matches its segment
  s.ids.back().end -= 1;
  REQUIRE(storage::write_summary_sync(shard, s) == 0);
  const auto [st, out] = verify(dir.path());
  INFO(out);
  CHECK(describe(st) == "exit status 1");
  CHECK(out.find("SUMMARY MISMATCH") != std::string::npos);
  CHECK(out.find(storage::summary_path(shard, 0) + " disagrees with the records") != std::string::npos);
}

namespace {

// The shard whose segment 0 is sealed with a summary, after post_many of 12,000 on one
// connection (one shard takes them all: segment 0 fills, segment 1 is written).
uint32_t summarised_shard(const std::string& data_dir) {
  for (uint32_t k = 0; k < 2; ++k)
    if (access(storage::summary_path(storage::shard_dir(data_dir, k), 0).c_str(), F_OK) == 0) return k;
  FAIL("no shard has a summary of segment 0");
  return 0;
}

}  // namespace

TEST_CASE("start-up trusts a summary; busyring-log verify finds corruption in the segment behind it",
          "[summary]") {
  TempDir dir;
  {
    auto server = start_server(dir.path());
    post_many(server->port(), 12'000);
    REQUIRE(server->stop().code == 0);
  }
  const std::vector<SegmentFile> segments = read_shard(dir.path(), summarised_shard(dir.path()));
  REQUIRE(segments.size() >= 2);
  REQUIRE(segments[0].records.size() >= 100);
  const RecordAt& victim = segments[0].records[segments[0].records.size() / 2];
  std::vector<uint8_t> bytes = segments[0].bytes;
  bytes[victim.offset + 40] ^= 0x08;  // a flipped bit in the middle of the sealed segment
  write_bytes(segments[0].path, bytes);
  {
    // The summary (its checksum intact) stands for the segment: start-up does not read it.
    auto server = start_server(dir.path());
    REQUIRE(server->stop().code == 0);
  }
  const auto [st, out] = verify(dir.path());
  INFO(out);
  CHECK(describe(st) == "exit status 1");
  CHECK(out.find("corrupt record in " + segments[0].path + " at offset " + std::to_string(victim.offset)) !=
        std::string::npos);
}

TEST_CASE("retire removes a retired segment's summary after it; a summary never stands in for its segment",
          "[summary][retention]") {
  TempDir dir;
  TempDir work;
  {
    auto server = start_server(dir.path());
    post_many(server->port(), 12'000);
    REQUIRE(server->stop().code == 0);
  }
  const std::string shard = storage::shard_dir(dir.path(), summarised_shard(dir.path()));
  const std::string seg0 = storage::segment_path(shard, 0);
  const std::string summary0 = storage::summary_path(shard, 0);
  storage::SegmentSummary kept;
  std::string why;
  REQUIRE(storage::read_summary(shard, 0, kept, why) == storage::SummaryRead::ok);
  {
    // Removed by hand, not retired: its summary (still there) is no licence to start.
    const std::string aside = work.sub("aside.log");
    REQUIRE(::rename(seg0.c_str(), aside.c_str()) == 0);
    ServerProcess refused({"--port", "0", "--data-dir", dir.path(), "--threads", "2", "--segment-size", "1M"});
    CHECK(refused.wait_exit().code == 1);
    INFO(refused.stderr_text());
    CHECK(refused.stderr_text().find(seg0 + " is missing") != std::string::npos);
    REQUIRE(::rename(aside.c_str(), seg0.c_str()) == 0);
  }
  // Exported and committed (what load.sh does around PostgreSQL's commit), then retired.
  const std::string checkpoint = work.sub("checkpoint");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"export", dir.path(), "--since-checkpoint", checkpoint, "--settle", "0"},
        std::vector<std::string>{"checkpoint", "commit", checkpoint},
        std::vector<std::string>{"retire", dir.path(), "--checkpoint", checkpoint}}) {
    std::vector<std::string> argv{cluster::log_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    Program p(argv);
    const ExitStatus st = p.wait_exit(60'000);
    INFO(args[0] << ": " << p.output().substr(0, 2000));
    REQUIRE(describe(st) == "exit status 0");
  }
  CHECK(access(seg0.c_str(), F_OK) != 0);
  CHECK(access(summary0.c_str(), F_OK) != 0);
  CHECK(access(storage::segment_path(shard, 1).c_str(), F_OK) == 0);  // the segment written: never retired

  // What a retire that stopped between its two unlinks leaves: the summary of a retired segment
  // that is gone. Start-up reads none of it (the ledger check goes by the seg-N.log files and
  // DATA_DIR/retired), and the ids go on after the highest ever issued.
  REQUIRE(storage::write_summary_sync(shard, kept) == 0);
  {
    auto server = start_server(dir.path());
    const std::vector<uint64_t> next = post_many(server->port(), 10);
    CHECK(next.front() == 12'001);
    REQUIRE(server->stop().code == 0);
  }
  // The next retire run removes it, though it retires no segment.
  Program again({cluster::log_bin(), "retire", dir.path(), "--checkpoint", checkpoint});
  const ExitStatus st = again.wait_exit(60'000);
  INFO(again.output());
  CHECK(describe(st) == "exit status 0");
  CHECK(access(summary0.c_str(), F_OK) != 0);
}

TEST_CASE("no connection is accepted before recovery is done: refused, then served", "[summary]") {
  TempDir dir;
  const std::string gate = dir.sub("gate");
  REQUIRE(mkfifo(gate.c_str(), 0600) == 0);
  const std::string bin = faulty_bin();
  INFO("fault build " << bin << " (make build/release/busyring-faulty)");
  REQUIRE(access(bin.c_str(), X_OK) == 0);
  ScopedEnv use_bin("BUSYRING_BIN", bin);
  ScopedEnv hold("BUSYRING_RECOVERY_GATE", gate);
  ServerProcess server({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "2"});
  REQUIRE(server.wait_stderr("recovery waits for " + gate));
  const uint16_t port = port_of_gate_line(server.stderr_text());

  // Recovery is held: the port is bound (nobody else may take it) but not listening.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = errno;
  close(fd);
  CHECK(rc == -1);
  CHECK(err == ECONNREFUSED);
  CHECK(server.stderr_text().find("listening on") == std::string::npos);

  const int w = open(gate.c_str(), O_WRONLY | O_CLOEXEC);  // releases recovery
  REQUIRE(w >= 0);
  close(w);
  REQUIRE(server.wait_listening());
  CHECK(server.port() == port);
  Client c(port);
  REQUIRE(c.connected());
  const Response r = roundtrip(c, post_request(usage_body("after recovery")));
  CHECK(r.status == 201);
  CHECK(server.stop().code == 0);
}
