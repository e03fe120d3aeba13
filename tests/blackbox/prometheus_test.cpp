// /metrics as Prometheus itself sees it (issue 8, section 1): `promtool check metrics` accepts
// the exposition after a mix of answers, and a real Prometheus server (its own temp dir, config
// and loopback ports, never the system's service) scrapes busyring every second and reports,
// through its HTTP API, exactly the number of records that were acknowledged. Both come from
// Debian's `prometheus` package (installed by `make deps`); without it a test fails, naming the
// package.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"
#include "program.h"
#include "prometheus_server.h"

using namespace blackbox;

namespace {

void require_program(const char* bin) {
  if (access(bin, X_OK) != 0) FAIL(bin << " is missing (Debian package prometheus; `make deps` installs it)");
}

std::string metrics_body(uint16_t port) {
  Client c(port);
  const Response r = roundtrip(c, get_request("/metrics"));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").value_or("").rfind("text/plain", 0) == 0);
  return r.body;
}

// The value of busyring_records_written_total as Prometheus last scraped it: -1 while it has no
// sample yet. *raw gets the API's answer, for failure messages.
double queried_records_written(uint16_t prometheus_port, std::string* raw) {
  const std::vector<Sample> result = prometheus_query(prometheus_port, "busyring_records_written_total", raw);
  INFO("query answer: " << *raw);
  if (result.empty()) return -1;
  REQUIRE(result.size() == 1);  // one target, one series
  bool job = false;
  for (const auto& [name, value] : result[0].labels) job = job || (name == "job" && value == "busyring");
  CHECK(job);
  return result[0].value;
}

}  // namespace

TEST_CASE("promtool check metrics accepts /metrics after a mix of answers", "[blackbox][ops]") {
  require_program(kPromtool);
  TempDir export_state;  // --export-checkpoint: the export lag gauge is checked too
  TestServer s({"--export-checkpoint", export_state.sub("checkpoint")});
  {
    Client c(s.port());
    REQUIRE(roundtrip(c, post_request(usage_body("promtool"))).status == 201);
    check_error(roundtrip(c, post_request(R"({"patientId":"100"})")), 422, "invalid_usage");
    check_error(roundtrip(c, get_request("/nope")), 404, "not_found");
    check_error(roundtrip(c, post_request("{nope")), 400, "bad_json");
    check_error(roundtrip(c, get_request("/api/usages")), 405, "method_not_allowed");
    REQUIRE(roundtrip(c, get_request("/healthz")).status == 200);
  }
  const std::string body = metrics_body(s.port());
  for (const char* status : {"201", "422", "404"}) {
    INFO("status " << status << " in\n" << body);
    CHECK(body.find(std::string(",code=\"") + status + "\"} 1\n") != std::string::npos);
  }
  CHECK(body.find("\n# TYPE busyring_export_lag_seconds gauge\nbusyring_export_lag_seconds ") != std::string::npos);

  TempDir dir;
  const std::string metrics_file = dir.sub("metrics.txt");
  write_file(metrics_file, body);
  Program promtool({kPromtool, "check", "metrics"}, metrics_file);
  const ExitStatus st = promtool.wait_exit(30'000);
  // promtool exits 0 with no output when the text is clean; 3 lists lint problems (naming,
  // HELP text, units), 1 a parse error.
  INFO("promtool check metrics: " << describe(st) << "\n" << promtool.output() << "\n/metrics:\n" << body);
  CHECK(st.exited);
  CHECK(st.code == 0);
  CHECK(promtool.output().empty());
  CHECK(s.server->stop().code == 0);
}

TEST_CASE("a real Prometheus server scrapes every acknowledged record", "[blackbox][ops]") {
  require_program(kPrometheus);
  constexpr int kRecords = 300;
  TestServer s;
  TempDir prom_dir;
  PrometheusServer prometheus(prom_dir, s.port());

  {
    Client c(s.port());
    for (int i = 0; i < kRecords; ++i) {
      const Response r = roundtrip(c, post_request(usage_body("scraped-" + std::to_string(i))));
      INFO("request " << i << ": " << r.status << " " << r.body);
      REQUIRE(r.status == 201);
    }
  }
  // busyring's own count first, so a mismatch below is Prometheus's view, not the server's.
  const std::string own = metrics_body(s.port());
  INFO(own);
  const std::string own_line = "\nbusyring_records_written_total " + std::to_string(kRecords) + "\n";
  REQUIRE(own.find(own_line) != std::string::npos);

  // Prometheus's own clock (a scrape a second) decides when the value moves: poll its API.
  const int64_t deadline = now_ms() + 20'000;
  double seen = -1;
  std::string raw;
  while (now_ms() < deadline) {
    seen = queried_records_written(prometheus.port(), &raw);
    if (seen >= kRecords) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::string error;
  const auto targets = http_get(prometheus.port(), "/api/v1/targets", 5'000, &error);
  INFO("last query answer: " << raw << "\ntargets: " << (targets ? targets->body : error)
                             << "\nprometheus output:\n" << tail(prometheus.process().output()));
  CHECK(seen == kRecords);

  const ExitStatus prom_exit = prometheus.process().stop(SIGTERM, 15'000);
  INFO("prometheus: " << describe(prom_exit));
  CHECK(prom_exit.exited);
  CHECK(prom_exit.code == 0);
  const ExitStatus busyring_exit = s.server->stop();
  INFO("busyring: " << describe(busyring_exit) << "\n" << s.server->stderr_text());
  CHECK(busyring_exit.code == 0);
}
