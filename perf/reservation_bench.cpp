// What one id-range reservation costs: N clients, each a node's reserving thread with its own
// node id, call the store (the server's own RedisRangeStore / EtcdRangeStore, the calls a node
// makes) for S seconds, back to back or at a total rate spread over the clients (as nodes
// reserving every --id-reserve/2 requests do); prints reservations/s and the latency spectrum of
// a call (lost races and their retries included). Built and run by perf/reservation_bench.
//   reservation_bench --id-source URL [--clients N] [--seconds S] [--count IDS] [--rate R]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "busyring/config/flags.h"
#include "ids/etcd_range_store.h"
#include "ids/redis_range_store.h"

using namespace busyring;

namespace {

struct Totals {
  std::vector<uint64_t> latencies_ns;
  uint64_t reserved = 0;
  uint64_t failed = 0;
  uint64_t other = 0;  // record moved, counter behind or missing: the bench's setup is wrong
};

std::unique_ptr<ids::RangeStore> make_store(const config::IdSource& s, const std::string& node_id) {
  if (s.kind == config::IdSourceKind::redis)
    return std::make_unique<ids::RedisRangeStore>(ids::RedisEndpoint{s.host, s.port, s.key, ""}, node_id,
                                                  ids::RedisCredentials{});
  std::vector<ids::EtcdMember> members;
  for (const auto& m : s.members) members.push_back({m.host, m.port});
  ids::EtcdSettings settings;
  settings.members = std::move(members);
  return std::make_unique<ids::EtcdRangeStore>(std::move(settings), s.key, node_id);
}

uint64_t now_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

// interval_ns: 0 back to back; else one call every interval, the clients' schedules staggered.
void run_client(const config::IdSource& source, int index, int clients, uint64_t count, uint64_t interval_ns,
                uint64_t until_ns, Totals& out) {
  auto store = make_store(source, "bench-" + std::to_string(getpid()) + "-" + std::to_string(index));
  std::string last;
  uint64_t held_end = 1;
  uint64_t due = now_ns() + interval_ns * static_cast<uint64_t>(index) / static_cast<uint64_t>(clients);
  while (now_ns() < until_ns) {
    if (interval_ns > 0) {
      const uint64_t now = now_ns();
      if (now < due) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
      due += interval_ns;
    }
    const uint64_t start = now_ns();
    const ids::Reservation r = store->reserve(count, last, held_end);
    const uint64_t took = now_ns() - start;
    if (r.outcome == ids::Reservation::Outcome::reserved) {
      out.latencies_ns.push_back(took);
      ++out.reserved;
      last = ids::range_record(r.range);
      held_end = r.range.end;
    } else if (r.outcome == ids::Reservation::Outcome::failed) {
      ++out.failed;
      std::fprintf(stderr, "reservation_bench: client %d: %s\n", index, r.error.c_str());
    } else {
      ++out.other;
      return;
    }
  }
}

double percentile_ms(const std::vector<uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[i]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int clients = 1, seconds = 5;
  uint64_t count = 16384;  // the default --id-reserve's half
  double rate = 0;         // total reservations/s over all clients; 0: back to back
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--id-source") url = argv[i + 1];
    else if (flag == "--clients") clients = std::atoi(argv[i + 1]);
    else if (flag == "--seconds") seconds = std::atoi(argv[i + 1]);
    else if (flag == "--count") count = std::strtoull(argv[i + 1], nullptr, 10);
    else if (flag == "--rate") rate = std::atof(argv[i + 1]);
  }
  config::IdSource source;
  if (!config::parse_id_source(url, source) || !source.shared() || clients < 1 || seconds < 1 || count < 1) {
    std::fprintf(stderr, "usage: reservation_bench --id-source redis://...|etcd://... [--clients N] [--seconds S] "
                         "[--count IDS] [--rate R]\n");
    return 2;
  }
  std::vector<Totals> totals(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  const uint64_t start = now_ns();
  const uint64_t until = start + static_cast<uint64_t>(seconds) * 1'000'000'000ull;
  const uint64_t interval = rate > 0 ? static_cast<uint64_t>(1e9 * clients / rate) : 0;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] { run_client(source, i, clients, count, interval, until, totals[static_cast<size_t>(i)]); });
  for (auto& t : threads) t.join();
  const double elapsed_s = static_cast<double>(now_ns() - start) / 1e9;
  Totals all;
  for (const Totals& t : totals) {
    all.latencies_ns.insert(all.latencies_ns.end(), t.latencies_ns.begin(), t.latencies_ns.end());
    all.reserved += t.reserved;
    all.failed += t.failed;
    all.other += t.other;
  }
  std::sort(all.latencies_ns.begin(), all.latencies_ns.end());
  std::printf("{\"rate\":%.0f,\"clients\":%d,\"seconds\":%.2f,\"reservations\":%" PRIu64 ",\"per_s\":%.0f,\"p50_ms\":%.3f,"
              "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"failed\":%" PRIu64 ",\"other\":%" PRIu64 "}\n",
              rate, clients, elapsed_s, all.reserved, static_cast<double>(all.reserved) / elapsed_s,
              percentile_ms(all.latencies_ns, 0.50), percentile_ms(all.latencies_ns, 0.90),
              percentile_ms(all.latencies_ns, 0.99), percentile_ms(all.latencies_ns, 1.0), all.failed, all.other);
  return all.other == 0 ? 0 : 1;
}
