// metrics/exposition and process_metrics: the process_* figures agree with what the kernel says
// about this process, the text is exactly the client libraries' names and types, build info
// has its labels, each shard has its row of series, and the whole page for 200 shards fits
// the 63 KiB a /metrics response may take (the per-shard series last, so a cut loses them first).
#include "busyring/metrics/exposition.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "busyring/metrics/process_metrics.h"

using namespace busyring::metrics;

namespace {

size_t fds_listed() {
  DIR* d = opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  size_t n = 0;
  while (const dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the listing's own descriptor
}

std::string page(size_t shards, size_t cap) {
  std::vector<std::unique_ptr<ShardMetrics>> blocks;
  std::vector<const ShardMetrics*> view;
  for (size_t i = 0; i < shards; ++i) {
    blocks.push_back(std::make_unique<ShardMetrics>());
    bump(blocks.back()->loop_turns, 1000000 + i);
    view.push_back(blocks.back().get());
  }
  std::vector<char> buf(cap);
  IdSourceGauges ids;
  const char* reasons[] = {"bad_json", "not_found"};
  return std::string(buf.data(), render_metrics_page(view.data(), shards, buf.data(), cap, reasons, 2, &ids));
}

}  // namespace

TEST_CASE("process stats agree with the kernel's view of this process", "[metrics]") {
  ProcessStats s;
  REQUIRE(read_process_stats(s));
  const size_t listed = fds_listed();
  CHECK(s.open_fds + 1 >= listed);
  CHECK(s.open_fds <= listed + 1);
  rlimit rl{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &rl) == 0);
  CHECK(s.max_fds == rl.rlim_cur);
  CHECK(s.resident_bytes > 1'000'000);
  CHECK(s.virtual_bytes > s.resident_bytes);
  const double now = static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  CHECK(s.start_time_seconds <= now + 1);
  CHECK(s.start_time_seconds > now - 3600);  // this test binary started a moment ago
  CHECK(s.cpu_seconds > 0);
}

TEST_CASE("process metrics use the client libraries' names, types and units", "[metrics]") {
  ProcessStats s;
  s.cpu_seconds = 1.5;
  s.resident_bytes = 4096;
  s.virtual_bytes = 8192;
  s.open_fds = 7;
  s.max_fds = 1024;
  s.start_time_seconds = 1700000000.25;
  char buf[4096];
  const std::string text(buf, render_process_metrics(s, buf, sizeof buf));
  for (const char* line : {"# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.500000\n",
                           "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 4096\n",
                           "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes 8192\n",
                           "# TYPE process_open_fds gauge\nprocess_open_fds 7\n",
                           "# TYPE process_max_fds gauge\nprocess_max_fds 1024\n",
                           "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1700000000.25\n"}) {
    INFO(text);
    CHECK(text.find(line) != std::string::npos);
  }
  const std::string build(buf, render_build_info("1.2.3", "abc123", buf, sizeof buf));
  CHECK(build.find("\nbusyring_build_info{version=\"1.2.3\",commit=\"abc123\"} 1\n") != std::string::npos);
  CHECK(build.find("# TYPE busyring_build_info gauge\n") != std::string::npos);
}

TEST_CASE("each shard has its row of series with a shard label", "[metrics]") {
  ShardMetrics a, b;
  a.count_request(Route::usages, 201);
  a.count_request(Route::healthz, 200);
  bump(b.records_written, 9);
  bump(b.connections_open, 4);
  bump(a.loop_turns, 11);
  b.storage_healthy = 0;
  const ShardMetrics* shards[] = {&a, &b};
  char buf[4096];
  const std::string text(buf, render_shard_series(shards, 2, buf, sizeof buf));
  for (const char* line : {"busyring_shard_requests_total{shard=\"0\"} 2\n", "busyring_shard_requests_total{shard=\"1\"} 0\n",
                           "busyring_shard_records_written_total{shard=\"1\"} 9\n",
                           "busyring_shard_connections_open{shard=\"1\"} 4\n",
                           "busyring_shard_storage_healthy{shard=\"0\"} 1\n", "busyring_shard_storage_healthy{shard=\"1\"} 0\n",
                           "busyring_shard_loop_turns_total{shard=\"0\"} 11\n",
                           "# TYPE busyring_shard_loop_turns_total counter\n",
                           "# TYPE busyring_shard_connections_open gauge\n"}) {
    INFO(text);
    CHECK(text.find(line) != std::string::npos);
  }
}

TEST_CASE("the /metrics page for 200 shards fits a response, per-shard series last", "[metrics]") {
  constexpr size_t kResponseBody = 63 * 1024;  // net's kOutBytes less room for the headers
  const std::string full = page(200, 1 << 20);
  INFO("page bytes: " << full.size());
  CHECK(full.size() < kResponseBody);
  const std::string capped = page(200, kResponseBody);  // process figures move between calls
  const std::string last = "busyring_shard_loop_turns_total{shard=\"199\"} 1000199\n";
  CHECK(capped.compare(capped.size() - last.size(), last.size(), last) == 0);
  CHECK(full.find("process_open_fds ") < full.find("busyring_shard_requests_total"));
  CHECK(full.find("busyring_build_info{") < full.find("busyring_shard_requests_total"));
  CHECK(full.compare(full.size() - last.size(), last.size(), last) == 0);
  // Cut short: whole lines, and the server-wide series before anything per shard.
  const std::string cut = page(200, full.size() / 2);
  CHECK(cut.back() == '\n');
  CHECK(cut.find("busyring_requests_total{route=\"/api/usages\",code=\"201\"} 0\n") != std::string::npos);
}
