// Dense ids after a mix of load, SIGTERM restarts and kill -9 crashes: over at least 100,000
// records written with the default --id-block, the log holds no id twice and records / max id
// stays >= 0.999 (README "Ids": at most threads x id-block ids unused at any moment; the holes
// a crash leaves are issued again first after the restart).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

enum class End { sigterm, kill9 };

constexpr uint64_t kRecordsWanted = 100'000;
constexpr int kConnections = 8;
constexpr int kPipeline = 16;
// The phases, each ended under load; the last is a graceful stop, as a reader of the log
// would see it after a restart.
const std::vector<End> kPhases = {End::sigterm, End::kill9, End::kill9,   End::sigterm, End::kill9,
                                  End::kill9,   End::sigterm, End::kill9, End::kill9,   End::sigterm};

}  // namespace

TEST_CASE("ids stay dense (>= 0.999) over 100k records of load, SIGTERM restarts and kill -9 crashes",
          "[durability][density]") {
  TempDir dir;
  IdBodies acked;
  const int64_t started_ms = now_ms();
  const uint64_t per_phase = kRecordsWanted / kPhases.size() + 1'000;
  for (size_t phase = 0; phase < kPhases.size(); ++phase) {
    INFO("phase " << phase << " (" << (kPhases[phase] == End::kill9 ? "kill -9" : "SIGTERM") << ")");
    auto server = start_server(dir.path(), {"--threads", "2", "--segment-size", "4M"});
    LoadDriver load(server->port(), LoadOptions{kConnections, kPipeline, "dense-" + std::to_string(phase), 0});
    REQUIRE(load.wait_acked(per_phase, 30'000));
    if (kPhases[phase] == End::kill9) {
      const ExitStatus st = server->kill9();
      CHECK((!st.exited && st.signal == SIGKILL));
    } else {
      const ExitStatus st = server->stop();
      INFO(describe(st) << "\n" << server->stderr_text());
      CHECK(st.exited);
      CHECK(st.code == 0);
    }
    load.stop();
    for (const auto& log : load.logs()) {
      CHECK(log.other_statuses.empty());
      CHECK(log.bad_201_bodies.empty());
      CHECK(log.unavailable_without_retry_after == 0);
    }
    for (const auto& [id, body] : load.acked_ids()) {
      INFO("id " << id << " acknowledged twice");
      REQUIRE(acked.emplace(id, body).second);
    }
  }
  const IdBodies on_disk = stored_unique(dir.path());
  for (const auto& [id, body] : acked) {
    INFO("acknowledged id " << id);
    REQUIRE(on_disk.count(id) == 1);
    REQUIRE(on_disk.at(id) == body);
  }
  const uint64_t max_id = on_disk.empty() ? 0 : on_disk.rbegin()->first;
  const double d = density(on_disk);
  WARN(on_disk.size() << " records on disk (" << acked.size() << " acknowledged), max id " << max_id
                      << ", " << max_id - on_disk.size() << " ids unused, density " << d << ", in "
                      << now_ms() - started_ms << " ms");
  CHECK(on_disk.size() >= kRecordsWanted);
  CHECK(d >= 0.999);
}
