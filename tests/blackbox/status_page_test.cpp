// GET /status (issue 19): the server serves contrib/status/status.html byte for byte, with a
// Content-Security-Policy that lets it load nothing but this server; in a real headless
// Chromium, under an open-loop load of busyring-load, the page polls /metrics, draws, and
// shows numbers that agree with /metrics: the rate of 201s against the load's rate, the
// connections, one row per shard, latencies within the histogram's range; once the load stops,
// the totals it shows are exactly those of /metrics and its rates fall to 0. Its quantile
// function agrees with Prometheus's histogram_quantile on the vector alerts_test.yml uses. No
// exception, console error or blocked load, and no request leaves the server's origin. A
// screenshot is kept next to the binary (status-page.png; docs/status-page.png is a copy).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <simdjson.h>

#include "chromium.h"
#include "harness.h"
#include "program.h"

using namespace blackbox;

namespace {

constexpr int kLoadRate = 400;  // POSTs a second, open loop

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string build_dir() {
  const std::string bin = server_bin();
  const size_t slash = bin.rfind('/');
  return slash == std::string::npos ? "." : bin.substr(0, slash);
}

// The text of every [data-k] element of the page.
std::map<std::string, std::string> shown(Chromium& page) {
  const std::string json = page.evaluate(
      "JSON.stringify(Object.fromEntries([...document.querySelectorAll('[data-k]')]"
      ".map(e => [e.dataset.k, e.textContent])))");
  simdjson::dom::parser parser;
  std::string_view inner;
  REQUIRE(parser.parse(json).get(inner) == simdjson::SUCCESS);
  const std::string object(inner);
  simdjson::dom::object obj;
  REQUIRE(parser.parse(object).get(obj) == simdjson::SUCCESS);
  std::map<std::string, std::string> out;
  for (auto [key, value] : obj) {
    std::string_view v;
    REQUIRE(value.get(v) == simdjson::SUCCESS);
    out.emplace(std::string(key), std::string(v));
  }
  return out;
}

int samples(Chromium& page) { return std::stoi(page.evaluate("window.brSamples || 0")); }

// Waits (real time: the page polls once a second) until the page holds `n` more samples.
void wait_samples(Chromium& page, int more) {
  const int target = samples(page) + more;
  const int64_t deadline = now_ms() + (more + 10) * 1000;
  while (samples(page) < target && now_ms() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(samples(page) >= target);
}

double metric(const std::string& text, const std::string& name_and_labels) {
  const size_t at = text.find("\n" + name_and_labels + " ");
  REQUIRE(at != std::string::npos);
  return std::strtod(text.c_str() + at + name_and_labels.size() + 2, nullptr);
}

std::string metrics_now(uint16_t port) {
  Client c(port);
  const Response r = roundtrip(c, get_request("/metrics"));
  REQUIRE(r.status == 200);
  return r.body;
}

// fmt.bytes of the page, for an exact comparison of what it shows.
std::string bytes_text(double v) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f %s", i ? 1 : 0, v, units[i]);
  return buf;
}

// "12.5 ms" -> 0.0125 s
double seconds_of(const std::string& ms_text) {
  INFO(ms_text);
  REQUIRE(ms_text.find(" ms") != std::string::npos);
  return std::stod(ms_text) / 1000.0;
}

}  // namespace

TEST_CASE("GET /status serves the embedded page, locked to this origin", "[blackbox][status]") {
  TestServer s;
  Client c(s.port());
  const Response r = roundtrip(c, get_request("/status"));
  CHECK(r.status == 200);
  CHECK(r.header("Content-Type").value_or("") == "text/html; charset=utf-8");
  CHECK(r.header("Content-Security-Policy").value_or("").find("default-src 'none'") != std::string::npos);
  CHECK(r.header("Content-Security-Policy").value_or("").find("connect-src 'self'") != std::string::npos);
  CHECK(r.header("Cache-Control").value_or("") == "no-store");
  CHECK(r.body == read_file("contrib/status/status.html"));
  REQUIRE(c.send("HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto head = c.read_response(10'000, true);
  REQUIRE(head.has_value());
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  check_error(roundtrip(c, post_request("{}").replace(0, 16, "POST /status")), 405, "method_not_allowed");
  const std::string m = metrics_now(s.port());
  CHECK(metric(m, "busyring_requests_total{route=\"/status\",code=\"200\"}") == 2);
}

TEST_CASE("the status page in Chromium shows what /metrics says, under load and after", "[blackbox][status]") {
  TempDir dir;
  TestServer s({"--threads", "2"});
  const std::string url = "http://127.0.0.1:" + std::to_string(s.port()) + "/status";
  const std::string load_bin = build_dir() + "/busyring-load";
  REQUIRE(access(load_bin.c_str(), X_OK) == 0);
  Program load({load_bin, "--url", "http://127.0.0.1:" + std::to_string(s.port()) + "/api/usages", "--rate",
                std::to_string(kLoadRate), "--connections", "4", "--duration", "20", "--body", "data.json"});
  Chromium browser(dir);
  browser.open(url, 1280, 1180);

  // Its quantile is Prometheus's: bucket increases 900/950/1000/1000 at 25/50/100 ms/+Inf give
  // p99 = 90 ms and p50 = 13.9 ms (histogram_quantile, as alerts_test.yml expects).
  const std::string q = browser.evaluate(
      "(() => { const b = v => ({m: parse(`h_bucket{le=\"0.025\"} ${900*v}\\nh_bucket{le=\"0.05\"} ${950*v}\\n"
      "h_bucket{le=\"0.1\"} ${1000*v}\\nh_bucket{le=\"+Inf\"} ${1000*v}\\n`)});"
      " return JSON.stringify([quantile(0.99, b(0), b(1), 'h'), quantile(0.5, b(0), b(1), 'h'),"
      " quantile(0.999, b(0), b(0), 'h')]); })()");
  CHECK(q == "\"[0.09000000000000001,0.01388888888888889,null]\"");

  // Under load: the last ten seconds of it.
  wait_samples(browser, 10);
  const std::string before = metrics_now(s.port());
  auto page = shown(browser);
  const std::string after = metrics_now(s.port());
  for (const auto& [k, v] : page) UNSCOPED_INFO(k << " = " << v);
  CHECK(page["state"] == "healthy");
  CHECK(page["host"] == "127.0.0.1:" + std::to_string(s.port()));
  CHECK(page["build"].rfind("0.1.0 (", 0) == 0);
  const double created = std::stod(page["post_s"]);
  CHECK(created > kLoadRate * 0.75);
  CHECK(created < kLoadRate * 1.25);
  CHECK(std::stod(page["req_s"]) >= created);
  CHECK(page["e503_s"] == "0.0");
  // busyring-load's 4 connections, the page's own (keep-alive), and the test's one.
  const double conns = std::stod(page["connections"]);
  CHECK(conns >= metric(before, "busyring_connections_open") - 1);
  CHECK(conns <= metric(after, "busyring_connections_open") + 1);
  CHECK(std::stod(page["shard0_connections"]) + std::stod(page["shard1_connections"]) == conns);
  CHECK(page.count("shard2_connections") == 0);  // one row per shard, two shards
  CHECK(std::stod(page["shard0_req_s"]) + std::stod(page["shard1_req_s"]) == Approx(std::stod(page["req_s"])).epsilon(0.05).margin(0.2));
  CHECK(std::stod(page["shard0_turns_s"]) >= 10);  // an idle loop turns 10 times a second, a busy one more
  CHECK(std::stod(page["shard1_turns_s"]) >= 10);
  const double records = std::stod(page["records_total"]);
  CHECK(records <= metric(after, "busyring_records_written_total"));
  CHECK(records >= metric(before, "busyring_records_written_total") - 2 * kLoadRate);
  const double p50 = seconds_of(page["p50"]), p99 = seconds_of(page["p99"]);
  CHECK(p50 > 0);
  CHECK(p50 <= p99);
  CHECK(p99 <= 1.0);  // within the histogram's finite buckets
  CHECK(std::stod(page["per_write"]) >= 1.0);
  const std::string png = browser.screenshot();
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  {
    std::ofstream f(build_dir() + "/status-page.png", std::ios::binary);
    f << png;
  }

  // The load ends; five seconds later the rates shown are 0 and the totals exact.
  const ExitStatus done = load.wait_exit(40'000);
  INFO("busyring-load: " << describe(done) << "\n" << load.output());
  CHECK(done.code == 0);
  wait_samples(browser, 7);
  page = shown(browser);
  const std::string idle = metrics_now(s.port());
  CHECK(page["post_s"] == "0.0");
  CHECK(page["per_write"] == "–");
  CHECK(std::stod(page["records_total"]) == metric(idle, "busyring_records_written_total"));
  CHECK(metric(idle, "busyring_records_written_total") ==
        metric(idle, "busyring_requests_total{route=\"/api/usages\",code=\"201\"}"));
  CHECK(page["log_total"] == bytes_text(metric(idle, "busyring_bytes_written_total")));

  for (const std::string& p : browser.problems()) FAIL_CHECK("page problem: " << p);
  const std::string origin = "http://127.0.0.1:" + std::to_string(s.port()) + "/";
  for (const std::string& r : browser.requested()) {
    INFO("requested " << r);
    CHECK(r.rfind(origin, 0) == 0);
  }
  CHECK(browser.requested().size() >= 20);  // the page and a /metrics a second
  CHECK(s.server->stop().code == 0);
}
