// Issue 17 §6 on the real binaries: `busyring-log compact` rewrites sealed segments while the
// server runs and keeps taking POSTs (every POST answered 201 meanwhile); after a restart every
// acknowledged id is exported exactly once with its body, and no id is issued again. And a
// compaction killed part-way (the leftovers it can leave: an unfinished .zlog.tmp, both forms
// of a segment) neither stops the server from starting nor duplicates a record, and the next
// run finishes the job.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "busyring/storage/compact_segment.h"
#include "busyring/storage/mapped_file.h"
#include "busyring/storage/segment.h"
#include "harness.h"
#include "pg_cluster.h"

using namespace blackbox;
namespace storage = busyring::storage;

namespace {

std::string log_tool() {
  const char* env = std::getenv("BUSYRING_LOG_BIN");
  return env != nullptr && *env != '\0' ? env : "build/release/busyring-log";
}

CommandRun tool(std::vector<std::string> args) {
  args.insert(args.begin(), log_tool());
  return run_command(args);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// About 20 KB: some 50 to a 1 MiB segment, so the shards move through segments quickly.
std::string body_of(uint64_t n) {
  return "{\"patientId\":\"" + std::to_string(n) + "\",\"timestamp\":\"t\",\"medication\":\"m\",\"pad\":\"" +
         std::string(20'000, static_cast<char>('a' + n % 26)) + "\"}";
}

// Posts on its own connections until told to stop; keeps what each 201 acknowledged.
class Poster {
 public:
  Poster(uint16_t port, uint64_t tag) : tag_(tag) {
    thread_ = std::thread([this, port] { run(port); });
  }
  ~Poster() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::map<uint64_t, std::string> acked;  // read after stop()
  std::atomic<uint64_t> count{0};
  std::string failure;                    // the first non-201, read after stop()

 private:
  void run(uint16_t port) {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<Client>(port));
    for (uint64_t n = 0; !stop_ && failure.empty(); ++n) {
      const std::string body = body_of(tag_ + n);
      Client& c = *clients[n % clients.size()];
      if (!c.send(post_request(body))) {
        failure = "send failed: " + c.last_error();
        break;
      }
      const auto r = c.read_response();
      if (!r || r->status != 201) {
        failure = r ? "status " + std::to_string(r->status) + ": " + r->body : "no response: " + c.last_error();
        break;
      }
      if (!acked.emplace(id_of(*r), body).second) failure = "id " + std::to_string(id_of(*r)) + " acknowledged twice";
      ++count;
    }
  }

  uint64_t tag_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The .zlog files of every shard of data_dir.
size_t compacted_count(const std::string& data_dir) {
  size_t n = 0;
  std::vector<uint32_t> shards, segs;
  REQUIRE(storage::list_shards(data_dir, shards) == 0);
  for (const uint32_t k : shards) {
    REQUIRE(storage::list_compacted_segments(storage::shard_dir(data_dir, k), segs) == 0);
    n += segs.size();
  }
  return n;
}

// `export` as id -> body; REQUIREs that no id appears twice.
std::map<uint64_t, std::string> exported(const std::string& data_dir) {
  const CommandRun r = tool({"export", data_dir});
  INFO(r.err);
  REQUIRE(r.ok());
  std::map<uint64_t, std::string> out;
  size_t pos = 0;
  while (pos < r.out.size()) {
    const size_t nl = r.out.find('\n', pos);
    REQUIRE(nl != std::string::npos);
    const std::string line = r.out.substr(pos, nl - pos);
    pos = nl + 1;
    const size_t id_at = line.find("\"id\":");
    REQUIRE(id_at != std::string::npos);
    const uint64_t id = std::stoull(line.substr(id_at + 5));
    const size_t body_at = line.find("\"body\":");
    REQUIRE(body_at != std::string::npos);
    INFO("id " << id << " exported twice");
    REQUIRE(out.emplace(id, line.substr(body_at + 7, line.size() - body_at - 8)).second);
  }
  return out;
}

// What compact_while_posting saw: the ids the server acknowledged, with their bodies.
struct PostedLog {
  std::map<uint64_t, std::string> acked;
  size_t compact_runs = 0;
};

// Starts the server on data_dir and POSTs on four connections while `busyring-log compact
// --settle 1` runs over and over, until `compacted` segments are compacted or `budget_ms`
// passes (a segment is sealed once a later one begins with a record a second old); then
// waits for `posts_after` more 201s (POSTs go on after the compactions too), stops the server
// cleanly, and REQUIREs that every POST was answered 201 and every compact run succeeded.
PostedLog compact_while_posting(const std::string& data_dir, size_t compacted, int64_t budget_ms,
                                uint64_t posts_after) {
  PostedLog log;
  auto server = start_server(data_dir);
  Poster poster(server->port(), 0);
  const int64_t deadline = now_ms() + budget_ms;
  while (compacted_count(data_dir) < compacted && now_ms() < deadline && poster.failure.empty()) {
    const CommandRun r = tool({"compact", data_dir, "--settle", "1"});
    INFO(r.out << r.err);
    REQUIRE(r.ok());
    ++log.compact_runs;
  }
  const uint64_t during = poster.count.load();
  const int64_t more_by = now_ms() + 10'000;
  while (poster.count.load() < during + posts_after && now_ms() < more_by && poster.failure.empty())
    ::usleep(10'000);
  poster.stop();
  INFO(poster.failure);
  REQUIRE(poster.failure.empty());
  log.acked = poster.acked;
  REQUIRE(server->stop().code == 0);
  return log;
}

// POSTs one more record and returns its id.
uint64_t post_one(uint16_t port) {
  Client c(port);
  const Response r = roundtrip(c, post_request(body_of(999'999)));
  REQUIRE(r.status == 201);
  return id_of(r);
}

}  // namespace

TEST_CASE("issue 17 §6: compaction while the server takes POSTs; after a restart every id once, none reissued",
          "[blackbox][compaction]") {
  TempDir dir;
  // Compact over and over while the POSTs go on, until several segments are compacted; 20
  // more POSTs after the last compaction.
  const PostedLog posted = compact_while_posting(dir.path(), 6, 60'000, 20);
  CHECK(posted.compact_runs > 0);
  REQUIRE(compacted_count(dir.path()) >= 6);
  const std::map<uint64_t, std::string>& acked = posted.acked;
  // Compacted segments are smaller than the 1 MiB they replace, and the .log is gone.
  std::vector<uint32_t> zs;
  REQUIRE(storage::list_compacted_segments(storage::shard_dir(dir.path(), 0), zs) == 0);
  for (const uint32_t z : zs) {
    CHECK_FALSE(exists(storage::segment_path(storage::shard_dir(dir.path(), 0), z)));
    CHECK(std::filesystem::file_size(storage::compact_path(storage::shard_dir(dir.path(), 0), z)) < (1u << 20) / 4);
  }
  const CommandRun verify = tool({"verify", dir.path()});
  INFO(verify.out << verify.err);
  CHECK(verify.ok());

  // Restart: start-up takes the compacted segments as sealed ones and issues none of their ids
  // again. The next id may be a hole below the highest (a block cut short by the stop, provably
  // never acknowledged, is issued again) or the next above it, never past the shards' blocks.
  auto server = start_server(dir.path());
  const uint64_t next = post_one(server->port());
  CHECK(acked.count(next) == 0);
  CHECK(next <= acked.rbegin()->first + 64);
  REQUIRE(server->stop().code == 0);

  const auto out = exported(dir.path());
  for (const auto& [id, body] : acked) {
    INFO("acknowledged id " << id);
    REQUIRE(out.count(id) == 1);
    CHECK(out.at(id) == body);
  }
  CHECK(out.size() == acked.size() + 1);
}

TEST_CASE("issue 17 §6: a compaction killed part-way leaves the log whole; the next run finishes",
          "[blackbox][compaction]") {
  TempDir dir;
  const std::map<uint64_t, std::string> acked = compact_while_posting(dir.path(), 2, 30'000, 0).acked;
  // What kills at the two visible steps leave: segment A back beside its .zlog (killed between
  // rename and unlink), and an unfinished .zlog.tmp of another sealed segment.
  std::vector<uint32_t> shards, zs, logs;
  REQUIRE(storage::list_shards(dir.path(), shards) == 0);
  std::string both_log, tmp;
  for (const uint32_t k : shards) {
    const std::string sd = storage::shard_dir(dir.path(), k);
    REQUIRE(storage::list_compacted_segments(sd, zs) == 0);
    if (!zs.empty() && both_log.empty()) {
      storage::MappedFile m;
      both_log = storage::segment_path(sd, zs[0]);
      REQUIRE(m.open(both_log) == 0);
      std::ofstream(both_log, std::ios::binary)
          .write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(m.file_bytes()));
    }
    REQUIRE(storage::list_segments(sd, logs) == 0);
    if (tmp.empty() && logs.size() >= 2) {
      tmp = storage::compact_path(sd, logs.back()) + ".tmp";
      std::ofstream(tmp, std::ios::binary) << std::string(1000, 'z');  // a partial copy
    }
  }
  REQUIRE(!both_log.empty());
  REQUIRE(!tmp.empty());

  {
    // The server starts on it, every record counted once, and issues no id again.
    auto server = start_server(dir.path());
    const uint64_t next = post_one(server->port());
    CHECK(acked.count(next) == 0);
    CHECK(next <= acked.rbegin()->first + 64);  // a hole or the next id: see above
    REQUIRE(server->stop().code == 0);
  }
  const CommandRun r = tool({"compact", dir.path(), "--settle", "0"});
  INFO(r.out << r.err);
  REQUIRE(r.ok());
  CHECK(r.out.find("1 finished, 0 redone, 1 unfinished copies removed") != std::string::npos);
  CHECK_FALSE(exists(both_log));
  CHECK_FALSE(exists(tmp));
  const auto out = exported(dir.path());
  for (const auto& [id, body] : acked) {
    INFO("acknowledged id " << id);
    REQUIRE(out.count(id) == 1);
    CHECK(out.at(id) == body);
  }
  CHECK(out.size() == acked.size() + 1);
}
