// Start-up recovery of damaged logs, the damage made by the test on a stopped server's files:
// a torn tail (junk after the last record) is voided and the server starts; a corrupt record
// followed by valid ones stops the start with exit status 1, naming the file and offset, and
// leaves the file as it was.
#include <fcntl.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"
#include "harness.h"
#include "load_driver.h"

using namespace blackbox;
namespace storage = busyring::storage;

namespace {

using IdBodies = std::map<uint64_t, std::string>;

std::vector<uint8_t> read_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::vector<uint8_t> data(static_cast<size_t>(lseek(fd, 0, SEEK_END)));
  const ssize_t n = pread(fd, data.data(), data.size(), 0);
  close(fd);
  REQUIRE(n == static_cast<ssize_t>(data.size()));
  return data;
}

void write_at(const std::string& path, const void* bytes, size_t len, uint64_t offset) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  const ssize_t n = pwrite(fd, bytes, len, static_cast<off_t>(offset));
  REQUIRE(fsync(fd) == 0);
  close(fd);
  REQUIRE(n == static_cast<ssize_t>(len));
}

// The last segment of shard-00 that holds records, and where its data ends.
struct LastSegment {
  std::string path;
  uint64_t data_end = 0;
  uint64_t records = 0;
};

LastSegment last_segment_of_shard0(const std::string& data_dir) {
  const std::string dir = storage::shard_dir(data_dir, 0);
  std::vector<uint32_t> segments;
  REQUIRE(storage::list_segments(dir, segments) == 0);
  LastSegment last;
  for (const uint32_t index : segments) {
    const std::string path = storage::segment_path(dir, index);
    const std::vector<uint8_t> data = read_file(path);
    const storage::SegmentScan scan = storage::scan_segment(data.data(), data.size() / 8 * 8, nullptr);
    REQUIRE(scan.end == storage::SegmentEnd::clean);
    if (scan.records > 0) last = LastSegment{path, scan.data_end, scan.records};
  }
  REQUIRE(!last.path.empty());
  return last;
}

IdBodies post_sequential(uint16_t port, const std::string& tag, int count) {
  Client c(port);
  IdBodies sent;
  for (int i = 0; i < count; ++i) {
    const std::string body = usage_body(tag + "-" + std::to_string(i));
    const Response r = roundtrip(c, post_request(body));
    REQUIRE(r.status == 201);
    sent.emplace(id_of(r), body);
  }
  return sent;
}



const std::vector<std::string> kOneShard = {"--threads", "1"};

}  // namespace

TEST_CASE("a torn tail is voided on start: old records stay, new POSTs succeed, the next start is clean",
          "[blackbox]") {
  TempDir dir;
  IdBodies expected;
  {
    auto server = start_server(dir.path(), kOneShard);
    expected = post_sequential(server->port(), "before-tear", 5);
    stop_cleanly(*server);
  }
  const LastSegment seg = last_segment_of_shard0(dir.path());
  REQUIRE(seg.data_end % 8 == 0);
  // A write that never finished: nonzero junk right after the last record, zeros after it.
  std::vector<uint8_t> junk(100);
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(0xA5 ^ i);
  write_at(seg.path, junk.data(), junk.size(), seg.data_end);
  {
    auto server = start_server(dir.path(), kOneShard);
    const std::string err = server->stderr_text();
    INFO(err);
    CHECK(err.find("torn tail") != std::string::npos);
    CHECK(err.find(seg.path) != std::string::npos);
    CHECK(err.find("5 records recovered") != std::string::npos);
    const IdBodies more = post_sequential(server->port(), "after-tear", 4);
    for (const auto& [id, body] : more) CHECK(expected.count(id) == 0);
    expected.insert(more.begin(), more.end());
    stop_cleanly(*server);
  }
  CHECK(stored_unique(dir.path()) == expected);
  {
    auto server = start_server(dir.path(), kOneShard);
    const std::string err = server->stderr_text();
    INFO(err);
    CHECK(err.find("torn") == std::string::npos);
    CHECK(err.find("9 records recovered") != std::string::npos);
    stop_cleanly(*server);
  }
  CHECK(stored_unique(dir.path()) == expected);
}

TEST_CASE("a torn tail in every shard is voided and both shards take writes again", "[blackbox]") {
  TempDir dir;
  IdBodies expected;
  {
    auto server = start_server(dir.path());
    for (int i = 0; i < 8; ++i) {
      const IdBodies part = post_sequential(server->port(), "c" + std::to_string(i), 3);
      expected.insert(part.begin(), part.end());
    }
    stop_cleanly(*server);
  }
  std::vector<uint32_t> shards;
  REQUIRE(storage::list_shards(dir.path(), shards) == 0);
  const uint8_t junk[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  for (const uint32_t shard : shards) {
    const std::string path = storage::segment_path(storage::shard_dir(dir.path(), shard), 0);
    const std::vector<uint8_t> data = read_file(path);
    const auto scan = storage::scan_segment(data.data(), data.size(), nullptr);
    write_at(path, junk, sizeof junk, scan.data_end);
  }
  auto server = start_server(dir.path());
  const IdBodies more = post_sequential(server->port(), "after", 10);
  expected.insert(more.begin(), more.end());
  stop_cleanly(*server);
  CHECK(stored_unique(dir.path()) == expected);
}

TEST_CASE("a corrupt record before valid ones stops the start, naming the segment and offset",
          "[blackbox]") {
  TempDir dir;
  {
    auto server = start_server(dir.path(), kOneShard);
    // Sequential durable POSTs: one write each, so several records in the segment.
    (void)post_sequential(server->port(), "corrupt-me", 6);
    stop_cleanly(*server);
  }
  const LastSegment seg = last_segment_of_shard0(dir.path());
  REQUIRE(seg.records == 6);
  std::vector<uint8_t> data = read_file(seg.path);
  storage::RecordView first{};
  REQUIRE(storage::decode_record(data.data(), data.size(), first) == storage::DecodeStatus::ok);
  REQUIRE(first.body_bytes > 10);
  const uint64_t flip_at = storage::kRecordHeaderBytes + 10;  // inside the first record's body
  const uint8_t flipped = static_cast<uint8_t>(data[flip_at] ^ 0x01);
  write_at(seg.path, &flipped, 1, flip_at);
  const std::vector<uint8_t> damaged = read_file(seg.path);

  ServerProcess server({"--port", "0", "--data-dir", dir.path(), "--threads", "1", "--segment-size", "1M"});
  const ExitStatus st = server.wait_exit();
  const std::string err = server.stderr_text();
  INFO(describe(st) << "\nstderr:\n" << err);
  CHECK(st.exited);
  CHECK(st.code == 1);
  CHECK(err.find("listening on") == std::string::npos);
  CHECK(err.find(seg.path) != std::string::npos);
  CHECK(err.find("offset 0") != std::string::npos);
  // Corruption is never repaired silently: the file is as the test left it.
  CHECK(read_file(seg.path) == damaged);
}
