// Crash durability: rounds of kill -9 while 8 connections post as fast as they can, each round
// restarting on the same data dir. With --ack durable and written every id answered 201 is on
// disk exactly once with the body that was sent, whatever the crashes; with --ack memory the
// loss is bounded (a tail of each connection's acknowledgements, no more than the shard's log
// buffers can hold) and no id is ever on disk twice.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "busyring/storage/log_writer.h"
#include "busyring/storage/record.h"
#include "harness.h"
#include "load_driver.h"

using namespace blackbox;
namespace storage = busyring::storage;

namespace {

constexpr int kRounds = 5;
constexpr int kConnections = 8;
constexpr int kRoundLoadMs = 1000;
constexpr uint64_t kThreads = 2;
const std::vector<std::string> kFlags = {"--threads", "2", "--segment-size", "1M"};

std::vector<std::string> flags_with_ack(const std::string& ack) {
  std::vector<std::string> f = {"--ack", ack};
  f.insert(f.end(), kFlags.begin(), kFlags.end());
  return f;
}

// 201 or 503 only. A 503 (with Retry-After) is an honest answer when the log buffers are
// saturated (--ack memory outruns the disk) or the next segment is not ready yet (a slow fsync
// on a 1M segment); it stores nothing, and the tests below only make claims about the 201s.
void check_answers(const LoadDriver& load) {
  for (const auto& log : load.logs()) {
    CHECK(log.other_statuses.empty());
    CHECK(log.bad_201_bodies.empty());
    CHECK(log.unavailable_without_retry_after == 0);
  }
}

struct Round {
  std::vector<ConnectionLog> logs;  // what each connection saw acknowledged, in order
  int64_t killed_ms = 0;            // now_ms() just before the kill
  uint64_t unavailable = 0;         // 503s
};

// One round: a server on dir, kConnections posting for kRoundLoadMs, then kill -9 mid-load.
Round load_round_then_kill9(const std::string& dir, const std::string& ack, int round) {
  auto server = start_server(dir, flags_with_ack(ack));
  LoadDriver load(server->port(), LoadOptions{kConnections, 1, ack + "-r" + std::to_string(round), 0});
  // Some load must be going on when the kill comes; then it runs for the round's length.
  REQUIRE(load.wait_acked(kConnections * 10, 10'000));
  (void)load.wait_acked(UINT64_MAX, kRoundLoadMs);
  const int64_t killed_ms = now_ms();
  const ExitStatus st = server->kill9();
  CHECK((!st.exited && st.signal == SIGKILL));
  load.stop();  // the threads end on the dead connections
  check_answers(load);
  return Round{load.logs(), killed_ms, load.unavailable()};
}

// After the crash rounds: one more start (recovery of the last crash), a little load, SIGTERM.
IdBodies final_graceful_round(const std::string& dir, const std::string& ack) {
  auto server = start_server(dir, flags_with_ack(ack));
  LoadDriver load(server->port(), LoadOptions{kConnections, 1, ack + "-final", 0});
  REQUIRE(load.wait_acked(200, 10'000));
  load.stop();
  check_answers(load);
  const ExitStatus st = server->stop();
  INFO(describe(st) << "\n" << server->stderr_text());
  REQUIRE(st.exited);
  REQUIRE(st.code == 0);
  return load.acked_ids();
}

void every_acknowledged_record_survives_crashes(const std::string& ack) {
  TempDir dir;
  IdBodies acked;  // over every round: an id is acknowledged at most once, ever
  uint64_t acked_per_round_min = UINT64_MAX, unavailable = 0;
  for (int round = 0; round < kRounds; ++round) {
    INFO("--ack " << ack << ", round " << round);
    const Round r = load_round_then_kill9(dir.path(), ack, round);
    unavailable += r.unavailable;
    uint64_t this_round = 0;
    for (const auto& log : r.logs) {
      for (const auto& a : log.acked) {
        INFO("id " << a.id << " was acknowledged twice (the second time in round " << round << ")");
        REQUIRE(acked.emplace(a.id, a.body).second);
        ++this_round;
      }
    }
    acked_per_round_min = std::min(acked_per_round_min, this_round);
    // Right after the crash, before any restart touches the files.
    const IdBodies on_disk = stored_unique(dir.path());
    for (const auto& [id, body] : acked) {
      INFO("acknowledged id " << id << " after the kill -9 of round " << round);
      REQUIRE(on_disk.count(id) == 1);
      REQUIRE(on_disk.at(id) == body);
    }
  }
  const IdBodies last = final_graceful_round(dir.path(), ack);
  for (const auto& [id, body] : last) {
    INFO("id " << id << " acknowledged again in the final round");
    REQUIRE(acked.emplace(id, body).second);
  }
  const IdBodies on_disk = stored_unique(dir.path());
  for (const auto& [id, body] : acked) {
    INFO("acknowledged id " << id);
    REQUIRE(on_disk.count(id) == 1);
    CHECK(on_disk.at(id) == body);
  }
  const double d = density(on_disk);
  WARN("--ack " << ack << ": " << acked.size() << " acknowledged over " << kRounds
                << " kill -9 rounds (fewest in a round: " << acked_per_round_min << "), "
                << on_disk.size() << " records on disk, max id " << on_disk.rbegin()->first
                << ", density " << d << "; " << unavailable << " answers were 503");
  CHECK(acked_per_round_min >= 100);  // the kills really came under load
}

}  // namespace

TEST_CASE("kill -9 under load, five rounds: every 201 of --ack durable is on disk once with its body",
          "[durability][crash]") {
  every_acknowledged_record_survives_crashes("durable");
}

TEST_CASE("kill -9 under load, five rounds: every 201 of --ack written is on disk once with its body",
          "[durability][crash]") {
  every_acknowledged_record_survives_crashes("written");
}

// --ack memory answers 201 once the record is copied into the shard's log buffer. What a kill
// -9 can lose is what those buffers hold unwritten: at most buffer_count buffers of
// buffer_bytes per shard (the write in flight, the sealed ones behind it, the one filling),
// i.e. threads * buffer_count * floor(buffer_bytes / record_bytes(smallest body)) records.
// And since a connection lives on one shard, whose buffers are written in append order, what
// a connection loses is a tail of its acknowledgements: the records on disk are a prefix.
TEST_CASE("kill -9 under load with --ack memory loses only a bounded tail and never duplicates an id",
          "[durability][crash]") {
  const storage::WriterOptions writer;  // the server's log buffers (shard.cpp uses the defaults)
  TempDir dir;
  IdBodies kept;  // on disk after earlier rounds: a restart must keep them
  uint64_t lost_total = 0, acked_total = 0;
  int64_t oldest_lost_age_ms = 0;
  for (int round = 0; round < kRounds; ++round) {
    INFO("--ack memory, round " << round);
    const Round r = load_round_then_kill9(dir.path(), "memory", round);
    const IdBodies on_disk = stored_unique(dir.path());
    for (const auto& [id, body] : kept) {
      INFO("id " << id << " was on disk before round " << round << " and is gone");
      REQUIRE(on_disk.count(id) == 1);
      REQUIRE(on_disk.at(id) == body);
    }
    size_t smallest_body = SIZE_MAX;
    uint64_t lost = 0, acked = 0;
    for (const auto& log : r.logs) {
      const auto on_disk_as_sent = [&](const Ack& a) {
        const auto it = on_disk.find(a.id);
        return it != on_disk.end() && it->second == a.body;
      };
      size_t k = 0;
      while (k < log.acked.size() && on_disk_as_sent(log.acked[k])) ++k;
      for (size_t j = k; j < log.acked.size(); ++j) {
        INFO("connection lost acknowledgement " << k << " but kept " << j << " (id " << log.acked[j].id << ")");
        REQUIRE_FALSE(on_disk_as_sent(log.acked[j]));
      }
      for (const auto& a : log.acked) smallest_body = std::min(smallest_body, a.body.size());
      if (k < log.acked.size()) oldest_lost_age_ms = std::max(oldest_lost_age_ms, r.killed_ms - log.acked[k].at_ms);
      lost += log.acked.size() - k;
      acked += log.acked.size();
      for (size_t j = 0; j < k; ++j) kept.emplace(log.acked[j].id, log.acked[j].body);
    }
    REQUIRE(acked > 0);
    const uint64_t bound = kThreads * writer.buffer_count *
                           (writer.buffer_bytes / storage::record_bytes(smallest_body));
    INFO(lost << " of " << acked << " acknowledged records lost; bound " << bound);
    CHECK(lost <= bound);
    CHECK(lost <= acked);
    lost_total += lost;
    acked_total += acked;
  }
  // Records of earlier rounds survive the final restart; lost ids may be issued again (the
  // README says so), but never to two records on disk.
  const IdBodies last = final_graceful_round(dir.path(), "memory");
  const IdBodies on_disk = stored_unique(dir.path());
  for (const auto& [id, body] : kept) {
    INFO("id " << id << " kept through the crashes is gone after the final stop");
    REQUIRE(on_disk.count(id) == 1);
  }
  for (const auto& [id, body] : last) {
    INFO("id " << id << " acknowledged after a graceful stop");
    REQUIRE(on_disk.count(id) == 1);
    CHECK(on_disk.at(id) == body);
  }
  // How old the oldest lost 201 was is reported, not asserted: it is "a few ms of traffic"
  // only while the disk keeps up; when a write stalls (a slow fsync on this VM's disk), the
  // buffers fill for as long as it stalls and then the server answers 503 storage_busy. The
  // bound that holds whatever the disk does is the count above.
  WARN("--ack memory: " << lost_total << " of " << acked_total << " acknowledged records lost over "
                        << kRounds << " kill -9 rounds; the oldest lost 201 was read "
                        << oldest_lost_age_ms << " ms before the kill; density " << density(on_disk));
}
