// busyring_export_lag_seconds (issue 19 §4, the export-lag alert's metric) on the real binaries:
// with --export-checkpoint FILE, the gauge is the age of the oldest record FILE does not cover.
// Records written and not exported make it grow; `busyring-log export --since-checkpoint FILE`
// plus `checkpoint commit FILE` (what load.sh does around PostgreSQL's commit) bring it to 0;
// records written after that count from their own arrival, not the exported ones'; a damaged
// FILE covers nothing and is logged. Without the flag the gauge is absent. The server measures
// once a second, so every wait polls /metrics against a deadline.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "pg_cluster.h"

using namespace blackbox;

namespace {

constexpr const char* kLag = "busyring_export_lag_seconds";

std::string log_tool() {
  const char* env = std::getenv("BUSYRING_LOG_BIN");
  return env != nullptr && *env != '\0' ? env : "build/release/busyring-log";
}

void run_tool(std::vector<std::string> args) {
  args.insert(args.begin(), log_tool());
  const CommandRun r = run_command(args);
  INFO(args[1] << ": " << r.err);
  REQUIRE(r.ok());
}

// The gauge's value on one scrape; nullopt when /metrics has no such line.
std::optional<double> scrape_lag(uint16_t port) {
  Client c(port);
  const Response r = roundtrip(c, get_request("/metrics"));
  REQUIRE(r.status == 200);
  const std::string prefix = std::string("\n") + kLag + " ";
  const size_t at = r.body.find(prefix);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(r.body.c_str() + at + prefix.size(), nullptr);
}

// Scrapes until accept(lag) holds; REQUIREs that it does within the deadline. Returns the value.
template <typename Accept>
double wait_lag(uint16_t port, const char* what, Accept accept, int timeout_ms = 10'000) {
  const int64_t deadline = now_ms() + timeout_ms;
  std::optional<double> lag;
  while (now_ms() < deadline) {
    lag = scrape_lag(port);
    REQUIRE(lag.has_value());
    if (accept(*lag)) return *lag;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a poll's pace, not a wait
  }
  INFO("waiting for the lag to be " << what << "; last " << (lag ? *lag : -1.0));
  FAIL();
  return -1;
}

void post_some(uint16_t port, const std::string& tag, int n) {
  Client c(port);
  for (int i = 0; i < n; ++i) REQUIRE(roundtrip(c, post_request(usage_body(tag + std::to_string(i)))).status == 201);
}

void write_text(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f != nullptr);
  REQUIRE(std::fwrite(text.data(), 1, text.size(), f) == text.size());
  REQUIRE(std::fclose(f) == 0);
}

}  // namespace

TEST_CASE("export lag: grows while records wait, 0 once the committed checkpoint covers them",
          "[blackbox][ops][export]") {
  TempDir data;
  TempDir state;  // the export unit's StateDirectory
  const std::string checkpoint = state.sub("checkpoint");
  auto server = start_server(data.path(), {"--export-checkpoint", checkpoint});
  const uint16_t port = server->port();
  // Nothing written, no checkpoint yet: nothing waits.
  CHECK(scrape_lag(port) == 0.0);

  const int64_t first_post_ms = now_ms();
  post_some(port, "first-", 6);
  // Not exported: the lag appears, then keeps growing with the records' age.
  const double seen = wait_lag(port, "above 0", [](double lag) { return lag > 0; });
  const double later = wait_lag(port, "growing", [&](double lag) { return lag >= seen + 0.05; });
  CHECK(later * 1000 <= static_cast<double>(now_ms() - first_post_ms) + 50);  // the records' age, no older

  // Exported and committed: 0 at the next measurement.
  run_tool({"export", data.path(), "--since-checkpoint", checkpoint, "--settle", "0", "--format", "csv"});
  run_tool({"checkpoint", "commit", checkpoint});
  wait_lag(port, "0 after the commit", [](double lag) { return lag == 0; });

  // New records count from their own arrival: a lag above 0 that is younger than they are.
  const int64_t second_post_ms = now_ms();
  post_some(port, "second-", 4);
  const double again = wait_lag(port, "above 0 again", [](double lag) { return lag > 0; });
  CHECK(again * 1000 <= static_cast<double>(now_ms() - second_post_ms) + 50);
  // Exported but not committed (PostgreSQL did not commit): still waiting, and growing.
  run_tool({"export", data.path(), "--since-checkpoint", checkpoint, "--settle", "0", "--format", "csv"});
  wait_lag(port, "growing without a commit", [&](double lag) { return lag >= again + 0.05; });
  run_tool({"checkpoint", "commit", checkpoint});
  wait_lag(port, "0 after the second commit", [](double lag) { return lag == 0; });

  // A damaged checkpoint covers nothing: every record waits again (the oldest is the first
  // POST's), and the server says why, once.
  write_text(checkpoint, "busyring-log checkpoint 1\ngeneration 9\n");
  const double damaged = wait_lag(port, "the first records' age", [&](double lag) {
    return lag * 1000 >= static_cast<double>(now_ms() - second_post_ms);
  });
  CHECK(damaged * 1000 <= static_cast<double>(now_ms() - first_post_ms) + 50);
  CHECK(server->wait_stderr(checkpoint + " is not a busyring-log checkpoint"));
  CHECK(server->stop().code == 0);
}

TEST_CASE("export lag: absent without --export-checkpoint (no export set up, nothing to alert on)",
          "[blackbox][ops][export]") {
  TestServer s;
  post_some(s.port(), "absent-", 1);
  CHECK_FALSE(scrape_lag(s.port()).has_value());
  CHECK(s.server->stop().code == 0);
}
