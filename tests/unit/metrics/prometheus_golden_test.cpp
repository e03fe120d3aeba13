// metrics: render_prometheus's exact bytes for two fixed shard blocks, every counter set to
// its own value, against prometheus.golden (the output of the renderer as it was before it was
// split into one function per family): a guard that refactoring the renderer changes nothing a
// scraper sees. The file holds the render with rejection reasons and id-source gauges, then,
// after a "=====SPLIT=====" line, the render without them.
#include "busyring/metrics/prometheus.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

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
}

// Beside this source: __FILE__ is relative to the repository root, where the tests run; from
// elsewhere, the root is two levels above the binary (build/MODE/unit-tests).
std::string golden_text() {
  const std::string here = __FILE__;
  const std::string name = here.substr(0, here.rfind('/')) + "/prometheus.golden";
  std::ifstream in(name, std::ios::binary);
  if (!in.good() && name.front() != '/') {
    const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    in.open(exe.substr(0, exe.rfind('/')) + "/../../" + name, std::ios::binary);
  }
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("the exposition of fixed shard blocks is byte for byte the golden text", "[metrics]") {
  static ShardMetrics a, b;
  fill(a, 1);
  fill(b, 2);
  const ShardMetrics* shards[2] = {&a, &b};
  const char* reasons[] = {"bad_json", "head_too_large", "storage_unavailable"};
  const IdSourceGauges gauges{1, 0, 12345, 678, 9};
  std::vector<char> buf(1 << 20);
  const LogGauges log{123456789, 987654321};
  const size_t full = render_prometheus(shards, 2, buf.data(), buf.size(), reasons, 3, &gauges, &log);
  std::string rendered(buf.data(), full);
  const size_t plain = render_prometheus(shards, 2, buf.data(), buf.size());
  rendered += "=====SPLIT=====\n" + std::string(buf.data(), plain);
  const std::string golden = golden_text();
  REQUIRE(golden.size() > 10000);
  CHECK(rendered == golden);
}
