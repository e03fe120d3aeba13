// Issue 17 §2, the test it asks for: several retention cycles under load against a real
// PostgreSQL 15, through the shipped chain (contrib/postgres/load.sh: export, COPY, commit, then
// `busyring-log retire`, on by default). POSTs run while each load and retire runs; the server
// is restarted gracefully and killed (SIGKILL) between cycles. At the end every acknowledged id
// is in the table exactly once, the data dir stayed bounded while far more than its bound was
// written, and no id was issued twice (the clients saw each once, the table and the log agree).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "busyring/storage/log_size.h"
#include "harness.h"
#include "pg_cluster.h"

using namespace blackbox;

namespace {

// About 6 KB: a cycle's records fill a few 1 MiB segments per shard.
std::string body_for(int i) {
  return "{\"patientId\":\"p" + std::to_string(i) + "\",\"timestamp\":\"Tue Nov 01 2016\",\"medication\":\"m\","
         "\"pad\":\"" + std::string(6000, 'x') + "\"}";
}

struct Acked {
  std::mutex mu;
  std::set<uint64_t> ids;
  uint64_t twice = 0;  // ids a client got a second time (must stay 0)
};

// count POSTs over 4 keep-alive connections, from `first`; every answer must be a 201.
void post_records(uint16_t port, int first, int count, Acked& acked, bool* failed) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<Client>(port));
  for (int i = 0; i < count; ++i) {
    Client& c = *clients[static_cast<size_t>(i % 4)];
    if (!c.send(post_request(body_for(first + i)))) {
      *failed = true;
      return;
    }
    const auto r = c.read_response();
    if (!r || r->status != 201 || id_of(*r) == 0) {
      *failed = true;
      return;
    }
    std::lock_guard<std::mutex> lock(acked.mu);
    if (!acked.ids.insert(id_of(*r)).second) ++acked.twice;
  }
}

CommandRun run_load(const PgCluster& pg, const std::string& data_dir, const std::string& checkpoint, int settle_s) {
  return LoadChain{.pg = pg, .data_dir = data_dir, .checkpoint = checkpoint, .settle_s = settle_s, .timeout_ms = 60'000}
      .run();
}

}  // namespace

TEST_CASE("issue 17: retention cycles under load into PostgreSQL keep the data dir bounded and every id once",
          "[pg][retention]") {
  PgCluster::require_parts();
  PgCluster pg;
  pg.apply_schema();

  TempDir dir;
  TempDir work;
  const std::string checkpoint = work.sub("checkpoint");
  auto server = start_server(dir.path());
  Acked acked;
  constexpr int kCycles = 5;
  constexpr int kPerCycle = 500;  // about 3 MB a cycle: 15 MB written over the cycles
  constexpr uint64_t kBound = 8ull << 20;  // the data dir never holds more than this
  uint64_t largest = 0;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    INFO("cycle " << cycle);
    // Records arrive while the chain exports, loads and retires.
    bool failed = false;
    std::thread load(post_records, server->port(), cycle * kPerCycle, kPerCycle, std::ref(acked), &failed);
    const CommandRun during = run_load(pg, dir.path(), checkpoint, 1);
    load.join();
    INFO(during.out << during.err);
    REQUIRE_FALSE(failed);
    REQUIRE(during.ok());
    // Then once more with every record acknowledged (no write in flight): all of it exported.
    const CommandRun after = run_load(pg, dir.path(), checkpoint, 0);
    INFO(after.out << after.err);
    REQUIRE(after.ok());
    largest = std::max(largest, busyring::storage::LogSizeGauge::measure(dir.path()));
    CHECK(largest <= kBound);
    // Across restarts: a graceful one, then a crash.
    if (cycle == 1) {
      REQUIRE(server->stop().code == 0);
      server = start_server(dir.path());
    } else if (cycle == 3) {
      server->kill9();
      server = start_server(dir.path());
    }
  }
  REQUIRE(server->stop().code == 0);
  const CommandRun last = run_load(pg, dir.path(), checkpoint, 0);
  INFO(last.out << last.err);
  REQUIRE(last.ok());

  CHECK(acked.twice == 0);
  REQUIRE(acked.ids.size() == static_cast<size_t>(kCycles * kPerCycle));
  // Every acknowledged id in the table once (the primary key); nothing else there: each cycle
  // stopped only after its 201s, and SIGKILL came with no request in flight.
  std::string list;
  for (const uint64_t id : acked.ids) list += (list.empty() ? "" : ",") + std::to_string(id);
  CHECK(pg.scalar("SELECT count(*) FROM usages") == std::to_string(acked.ids.size()));
  CHECK(pg.scalar("SELECT count(*) FROM usages WHERE id IN (" + list + ")") == std::to_string(acked.ids.size()));
  // Far more went through than the data dir ever held: segments were retired every cycle.
  INFO("the data dir held at most " << largest << " bytes of segments");
  CHECK(largest <= kBound);
  CHECK(acked.ids.size() * 6000 > kBound + kBound / 2);
  const std::string retired = [&] {
    std::ifstream in(dir.sub("retired"));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }();
  INFO(retired);
  CHECK(retired.rfind("busyring-retired 1\n", 0) == 0);
  // The log that is left holds no id twice, and none the table lacks.
  std::set<uint64_t> on_disk;
  for (const StoredRecord& rec : read_records(dir.path())) {
    CHECK(on_disk.insert(rec.id).second);
    CHECK(acked.ids.count(rec.id) == 1);
  }
  CHECK(on_disk.size() < acked.ids.size());
}
