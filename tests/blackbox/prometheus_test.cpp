// /metrics as Prometheus itself sees it (issue 8, section 1): `promtool check metrics` accepts
// the exposition after a mix of answers, and a real Prometheus server (its own temp dir, config
// and loopback ports, never the system's service) scrapes busyring every second and reports,
// through its HTTP API, exactly the number of records that were acknowledged. Both come from
// Debian's `prometheus` package (installed by `make deps`); without it a test fails, naming the
// package.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "harness.h"
#include "program.h"

using namespace blackbox;

namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";
constexpr const char* kPrometheus = "/usr/bin/prometheus";

void require_program(const char* bin) {
  if (access(bin, X_OK) != 0) FAIL(bin << " is missing (Debian package prometheus; `make deps` installs it)");
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  REQUIRE(f.good());
}

std::string metrics_body(uint16_t port) {
  Client c(port);
  const Response r = roundtrip(c, get_request("/metrics"));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").value_or("").rfind("text/plain", 0) == 0);
  return r.body;
}

// A Prometheus server in dir, scraping busyring on target_port every second. The listen port
// is picked free and may be lost to a race before Prometheus binds it: then it is tried again.
class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, uint16_t target_port) {
    const std::string config = dir.sub("prometheus.yml");
    write_file(config,
               "global:\n"
               "  scrape_interval: 1s\n"
               "  scrape_timeout: 1s\n"
               "  evaluation_interval: 1s\n"
               "scrape_configs:\n"
               "  - job_name: busyring\n"
               "    metrics_path: /metrics\n"
               "    static_configs:\n"
               "      - targets: ['127.0.0.1:" + std::to_string(target_port) + "']\n");
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_loopback_port();
      process_ = std::make_unique<Program>(std::vector<std::string>{
          kPrometheus, "--config.file=" + config, "--storage.tsdb.path=" + dir.sub("tsdb"),
          "--web.listen-address=127.0.0.1:" + std::to_string(port_)});
      if (process_->wait_output("Server is ready to receive web requests.", 30'000)) return;
      const ExitStatus s = process_->stop(SIGKILL, 10'000);
      const std::string out = process_->output();
      INFO("prometheus (" << describe(s) << "):\n" << tail(out));
      REQUIRE(out.find("address already in use") != std::string::npos);  // else: not a port race
    }
    FAIL("prometheus lost its listen port to a race three times");
  }

  uint16_t port() const { return port_; }
  Program& process() { return *process_; }

 private:
  uint16_t port_ = 0;
  std::unique_ptr<Program> process_;
};

// The value of busyring_records_written_total as Prometheus last scraped it: -1 while it has no
// sample yet. *raw gets the API's answer, for failure messages.
double queried_records_written(uint16_t prometheus_port, std::string* raw) {
  std::string error;
  const auto reply = http_get(prometheus_port, "/api/v1/query?query=busyring_records_written_total",
                              5'000, &error);
  INFO("query: " << error);
  REQUIRE(reply.has_value());
  *raw = reply->body;
  INFO("query answer " << reply->status << ": " << reply->body);
  REQUIRE(reply->status == 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(reply->body).get(doc) == simdjson::SUCCESS);
  std::string_view status;
  REQUIRE(doc["status"].get(status) == simdjson::SUCCESS);
  REQUIRE(status == "success");
  simdjson::dom::array result;
  REQUIRE(doc["data"]["result"].get(result) == simdjson::SUCCESS);
  if (result.size() == 0) return -1;
  REQUIRE(result.size() == 1);  // one target, one series
  std::string_view job;
  REQUIRE(result.at(0)["metric"]["job"].get(job) == simdjson::SUCCESS);
  CHECK(job == "busyring");
  // "value": [<unix time>, "<sample as a string>"]
  std::string_view value;
  REQUIRE(result.at(0)["value"].at(1).get(value) == simdjson::SUCCESS);
  return std::strtod(std::string(value).c_str(), nullptr);
}

}  // namespace

TEST_CASE("promtool check metrics accepts /metrics after a mix of answers", "[blackbox][ops]") {
  require_program(kPromtool);
  TestServer s;
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
    CHECK(body.find(std::string(",status=\"") + status + "\"} 1\n") != std::string::npos);
  }

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
