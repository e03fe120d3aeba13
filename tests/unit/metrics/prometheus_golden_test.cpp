// metrics: the exact bytes of every part of the /metrics page for two fixed shard blocks, every
// counter set to its own value, against prometheus.golden: a guard that refactoring a renderer
// changes nothing a scraper sees. The file holds render_prometheus with rejection reasons and
// id-source gauges; after a "=====SPLIT=====" line, the same without them; after another, the
// rest of the page (exposition.h): build info, process_* for fixed figures (the live ones are
// /proc's, checked in exposition_test.cpp) and the per-shard series.
//
// When the exposition changes on purpose (a new series, a renamed label), run the test once
// with BR_UPDATE_GOLDEN=1: it rewrites prometheus.golden from the renderers, and `git diff`
// shows exactly what a scraper will see change.
#include "busyring/metrics/prometheus.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "busyring/metrics/exposition.h"
#include "busyring/metrics/process_metrics.h"

using namespace busyring::metrics;

namespace {

// Every counter of the block gets its own value, derived from `seed` and its position.
void fill(ShardMetrics& m, uint64_t seed) {
  uint64_t v = seed;
  auto next = [&v] {
    v = v * 6364136223846793005ull + 1442695040888963407ull;
    return (v >> 40) % 100000;
  };
  for (auto& route : m.requests)
    for (Counter& c : route) c = next() % 3 == 0 ? 0 : next();
  for (Counter& c : m.latency_buckets) c = next();
  m.latency_sum_us = next() * 1000 + 7;
  m.latency_count = next();
  m.records_written = next();
  m.bytes_written = next() * 4096;
  m.flushes = next();
  m.flush_failures = next() % 5;
  for (Counter& c : m.flush_buckets) c = next();
  m.ids_issued = next();
  m.connections_open = next() % 1000;
  m.connections_accepted = next();
  m.connections_rejected = next() % 10;
  m.recv_enobufs = next() % 100;
  m.cq_overflows = next() % 3;
  m.stale_cqes = next() % 50;
  m.storage_healthy = seed % 2;
  for (Counter& c : m.rejections) c = next();
  for (Counter& c : m.write_latency_buckets) c = next();
  m.write_latency_sum_us = next() * 333 + 1;
  m.id_blocks_taken = next();
  m.holes_reissued = next() % 77;
  m.workspaces_in_use = next() % 1024;
  m.loop_turns = next();
  m.recovery_torn_tails = next() % 3;
  for (Counter& c : m.auth_refusals) c = next();
  for (Counter& c : m.held_requests) c = next();
  m.segment_waits = next() % 9;
}

// Beside this source: __FILE__ is relative to the repository root, where the tests run; from
// elsewhere, the root is two levels above the binary (build/MODE/unit-tests).
std::string golden_path() {
  const std::string here = __FILE__;
  const std::string name = here.substr(0, here.rfind('/')) + "/prometheus.golden";
  if (std::filesystem::exists(name) || name.front() == '/') return name;
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
  return exe.substr(0, exe.rfind('/')) + "/../../" + name;
}

std::string golden_text() {
  std::ifstream in(golden_path(), std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("the exposition of fixed shard blocks is byte for byte the golden text", "[metrics]") {
  static ShardMetrics a, b;
  fill(a, 1);
  fill(b, 2);
  const ShardMetrics* shards[2] = {&a, &b};
  const char* reasons[] = {"bad_json", "headers_too_large", "storage_unavailable"};
  const IdSourceGauges gauges{1, 0, 12345, 678, 9};
  std::vector<char> buf(1 << 20);
  const LogGauges log{123456789, 987654321};
  const size_t full = render_prometheus(shards, 2, buf.data(), buf.size(), reasons, 3, &gauges, &log);
  std::string rendered(buf.data(), full);
  const size_t plain = render_prometheus(shards, 2, buf.data(), buf.size());
  rendered += "=====SPLIT=====\n" + std::string(buf.data(), plain);
  ProcessStats process;
  process.cpu_seconds = 12.345678;
  process.resident_bytes = 48ull << 20;
  process.virtual_bytes = 3ull << 30;
  process.open_fds = 41;
  process.max_fds = 65536;
  process.start_time_seconds = 1796650224.37;
  size_t rest = render_build_info("0.1.0", "1d866d1", buf.data(), buf.size());
  rest += render_process_metrics(process, buf.data() + rest, buf.size() - rest);
  rest += render_shard_series(shards, 2, buf.data() + rest, buf.size() - rest);
  rendered += "=====SPLIT=====\n" + std::string(buf.data(), rest);
  if (const char* update = std::getenv("BR_UPDATE_GOLDEN"); update != nullptr && *update == '1') {
    std::ofstream(golden_path(), std::ios::binary) << rendered;
    WARN("rewrote " << golden_path() << ": review it with git diff");
  }
  const std::string golden = golden_text();
  REQUIRE(golden.size() > 10000);
  CHECK(rendered == golden);
}
