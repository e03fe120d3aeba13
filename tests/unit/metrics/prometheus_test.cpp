// metrics: render_prometheus over two shard blocks sums every counter, gives each metric its
// # HELP and # TYPE lines, and renders histograms with cumulative buckets ending in +Inf;
// the bucket lookups of ShardMetrics; truncation at the last complete line.
#include "busyring/metrics/prometheus.h"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace busyring::metrics;

namespace {

struct Two {
  Two() {
    shards[0] = &a;
    shards[1] = &b;
  }
  std::string render(size_t cap = 1 << 16) {
    std::vector<char> buf(cap);
    const size_t n = render_prometheus(shards, 2, buf.data(), cap);
    return std::string(buf.data(), n);
  }
  ShardMetrics a, b;
  const ShardMetrics* shards[2];
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// "name{labels} value" -> value, for every sample line.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const std::string& l : lines_of(text)) {
    if (l.empty() || l[0] == '#') continue;
    const size_t sp = l.rfind(' ');
    out[l.substr(0, sp)] = l.substr(sp + 1);
  }
  return out;
}

}  // namespace

TEST_CASE("counters of two shards are summed", "[metrics]") {
  Two t;
  t.a.count_request(Route::usages, 201);
  t.a.count_request(Route::usages, 201);
  t.b.count_request(Route::usages, 201);
  t.b.count_request(Route::healthz, 503);
  t.a.count_request(Route::other, 404);
  t.a.count_request(Route::other, 299);  // not in the table: not counted anywhere
  bump(t.a.records_written, 10);
  bump(t.b.records_written, 5);
  bump(t.a.bytes_written, 4096);
  bump(t.b.bytes_written, 512);
  bump(t.a.ids_issued, 3);
  bump(t.b.connections_open, 2);
  bump(t.a.connections_open, 1);
  bump(t.b.stale_cqes, 9);
  const auto s = samples(t.render());
  CHECK(s.at("busyring_requests_total{route=\"/api/usages\",code=\"201\"}") == "3");
  CHECK(s.at("busyring_requests_total{route=\"/healthz\",code=\"503\"}") == "1");
  CHECK(s.at("busyring_requests_total{route=\"other\",code=\"404\"}") == "1");
  CHECK(s.count("busyring_requests_total{route=\"other\",code=\"299\"}") == 0);
  CHECK(s.at("busyring_records_written_total") == "15");
  CHECK(s.at("busyring_bytes_written_total") == "4608");
  CHECK(s.at("busyring_ids_issued_total") == "3");
  CHECK(s.at("busyring_connections_open") == "3");
  CHECK(s.at("busyring_stale_completions_total") == "9");
  CHECK(s.at("busyring_storage_healthy_shards") == "2");
  t.b.storage_healthy = 0;
  CHECK(samples(t.render()).at("busyring_storage_healthy_shards") == "1");
}

TEST_CASE("every (route, code) a route can answer with is there from the start, at 0", "[metrics]") {
  Two t;
  auto s = samples(t.render());
  const std::string usages = "busyring_requests_total{route=\"/api/usages\",code=\"";
  for (const char* code : {"201", "400", "405", "411", "415", "417", "422", "501", "503"})
    CHECK(s.at(usages + code + "\"}") == "0");
  // A timed-out request is answered by the connection, without its route: 408 is "other"'s.
  CHECK(s.count(usages + "408\"}") == 0);
  CHECK(s.at("busyring_requests_total{route=\"/healthz\",code=\"200\"}") == "0");
  CHECK(s.at("busyring_requests_total{route=\"/healthz\",code=\"503\"}") == "0");
  CHECK(s.at("busyring_requests_total{route=\"/metrics\",code=\"200\"}") == "0");
  CHECK(s.at("busyring_requests_total{route=\"/status\",code=\"200\"}") == "0");
  for (const char* code : {"400", "404", "408", "413", "414", "431", "501", "505"})
    CHECK(s.at(std::string("busyring_requests_total{route=\"other\",code=\"") + code + "\"}") == "0");
  // A pair no route answers with is left out while it is 0, and shows once it happens.
  CHECK(s.count("busyring_requests_total{route=\"/healthz\",code=\"201\"}") == 0);
  t.a.count_request(Route::healthz, 201);
  s = samples(t.render());
  CHECK(s.at("busyring_requests_total{route=\"/healthz\",code=\"201\"}") == "1");
  for (const auto& [name, value] : s) CHECK(name.find("status=") == std::string::npos);
}

TEST_CASE("every metric has # HELP and # TYPE lines before its samples", "[metrics]") {
  Two t;
  t.a.count_request(Route::usages, 201);
  const auto lines = lines_of(t.render());
  std::set<std::string> helped, typed;
  std::map<std::string, std::string> type_of;
  for (const std::string& l : lines) {
    if (l.rfind("# HELP ", 0) == 0) {
      helped.insert(l.substr(7, l.find(' ', 7) - 7));
    } else if (l.rfind("# TYPE ", 0) == 0) {
      const std::string name = l.substr(7, l.find(' ', 7) - 7);
      typed.insert(name);
      type_of[name] = l.substr(l.rfind(' ') + 1);
    } else {
      REQUIRE_FALSE(l.empty());
      std::string name = l.substr(0, l.find_first_of("{ "));
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        const std::string sfx = suffix;
        if (name.size() > sfx.size() && name.compare(name.size() - sfx.size(), sfx.size(), sfx) == 0 &&
            !typed.count(name))
          name.resize(name.size() - sfx.size());
      }
      INFO(l);
      CHECK(helped.count(name) == 1);
      CHECK(typed.count(name) == 1);
    }
  }
  CHECK(helped == typed);
  CHECK(typed.size() >= 14);
  CHECK(type_of.at("busyring_requests_total") == "counter");
  CHECK(type_of.at("busyring_request_duration_seconds") == "histogram");
  CHECK(type_of.at("busyring_flush_records") == "histogram");
  CHECK(type_of.at("busyring_connections_open") == "gauge");
  CHECK(type_of.at("busyring_workspaces_in_use") == "gauge");
}

TEST_CASE("histogram buckets are cumulative and end in +Inf equal to the count", "[metrics]") {
  Two t;
  for (uint64_t us : {10ull, 50ull, 51ull, 700ull, 2'000'000ull}) t.a.observe_latency_us(us);
  for (uint64_t us : {100ull, 100ull, 99'999'999ull}) t.b.observe_latency_us(us);
  for (uint64_t r : {1ull, 3ull, 5000ull}) t.a.observe_flush(r);
  t.b.observe_flush(1);
  const std::string text = t.render();
  const auto s = samples(text);
  CHECK(s.at("busyring_request_duration_seconds_bucket{le=\"5e-05\"}") == "2");    // 10, 50
  CHECK(s.at("busyring_request_duration_seconds_bucket{le=\"0.0001\"}") == "5");   // + 51, 100, 100
  CHECK(s.at("busyring_request_duration_seconds_bucket{le=\"0.001\"}") == "6");    // + 700
  CHECK(s.at("busyring_request_duration_seconds_bucket{le=\"1\"}") == "6");
  CHECK(s.at("busyring_request_duration_seconds_bucket{le=\"+Inf\"}") == "8");
  CHECK(s.at("busyring_request_duration_seconds_count") == "8");
  CHECK(s.at("busyring_request_duration_seconds_sum") == "102.001010");
  CHECK(s.at("busyring_flush_records_bucket{le=\"1\"}") == "2");
  CHECK(s.at("busyring_flush_records_bucket{le=\"4\"}") == "3");
  CHECK(s.at("busyring_flush_records_bucket{le=\"+Inf\"}") == "4");
  CHECK(s.at("busyring_flush_records_count") == "4");

  for (const char* h : {"busyring_request_duration_seconds_bucket", "busyring_flush_records_bucket"}) {
    uint64_t prev = 0;
    std::string last_le;
    size_t buckets = 0;
    for (const std::string& l : lines_of(text)) {
      if (l.rfind(std::string(h) + "{", 0) != 0) continue;
      const uint64_t v = std::stoull(l.substr(l.rfind(' ') + 1));
      CHECK(v >= prev);
      prev = v;
      last_le = l.substr(l.find("le=\""), l.find("\"}") - l.find("le=\"") + 2);
      ++buckets;
    }
    CHECK(last_le == "le=\"+Inf\"}");
    CHECK(buckets > 10);
  }
}

TEST_CASE("latency and flush observations land in the right bucket", "[metrics]") {
  ShardMetrics m;
  m.observe_latency_us(0);
  m.observe_latency_us(kLatencyBoundsUs[0]);
  m.observe_latency_us(kLatencyBoundsUs[0] + 1);
  m.observe_latency_us(UINT32_MAX);
  CHECK(read(m.latency_buckets[0]) == 2);
  CHECK(read(m.latency_buckets[1]) == 1);
  CHECK(read(m.latency_buckets[kLatencyBuckets - 1]) == 1);
  CHECK(read(m.latency_count) == 4);
  m.observe_flush(4096);
  m.observe_flush(4097);
  CHECK(read(m.flush_buckets[kFlushBuckets - 2]) == 1);
  CHECK(read(m.flush_buckets[kFlushBuckets - 1]) == 1);
  CHECK(status_index(201) == 1);
  CHECK(status_index(417) < kStatusCount);
  CHECK(status_index(418) == kStatusCount);
  CHECK(std::string(route_name(Route::usages)) == "/api/usages");
}

TEST_CASE("output cut short by the buffer ends at the last complete line", "[metrics]") {
  Two t;
  t.a.count_request(Route::usages, 201);
  const std::string full = t.render();
  for (size_t cap : {size_t{1}, size_t{40}, size_t{300}, full.size() / 2, full.size()}) {
    const std::string cut = t.render(cap);
    INFO("cap " << cap);
    CHECK(cut.size() < cap);
    CHECK(full.compare(0, cut.size(), cut) == 0);
    if (!cut.empty()) CHECK(cut.back() == '\n');
  }
  CHECK(t.render(full.size() + 1) == full);
  char one = 'x';
  CHECK(render_prometheus(t.shards, 2, &one, 0) == 0);
}
