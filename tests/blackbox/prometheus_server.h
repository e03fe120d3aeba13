// A real Prometheus server for the black-box tests (Debian's `prometheus`): its own temp dir,
// config and loopback port, never the system's service, scraping busyring every second; and
// instant queries through its HTTP API.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness.h"
#include "program.h"

namespace blackbox {

inline constexpr const char* kPromtool = "/usr/bin/promtool";
inline constexpr const char* kPrometheus = "/usr/bin/prometheus";

void write_file(const std::string& path, const std::string& text);  // REQUIREs success

// A scrape job: its name and the loopback ports of its targets (GET /metrics).
struct ScrapeJob {
  std::string name;
  std::vector<uint16_t> ports;
};

// Prometheus in dir, scraping every second and evaluating rule_files (absolute paths) every
// second. The listen port is picked free and may be lost to a race before Prometheus binds
// it: then it is tried again.
class PrometheusServer {
 public:
  // One job "busyring" with 127.0.0.1:target_port.
  PrometheusServer(const TempDir& dir, uint16_t target_port);
  PrometheusServer(const TempDir& dir, const std::vector<ScrapeJob>& jobs, const std::vector<std::string>& rule_files);
  uint16_t port() const { return port_; }
  Program& process() { return *process_; }

 private:
  uint16_t port_ = 0;
  std::unique_ptr<Program> process_;
};

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

// An instant query (PromQL, URL-encoded here): every series of the answer. REQUIREs a
// successful answer; *raw gets its body, for failure messages.
std::vector<Sample> prometheus_query(uint16_t prometheus_port, const std::string& promql, std::string* raw);

// An alert Prometheus holds (GET /api/v1/alerts): pending (its `for` not yet over) or firing.
struct ActiveAlert {
  std::string name;
  std::string state;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string label(const std::string& key) const;
};
std::vector<ActiveAlert> prometheus_alerts(uint16_t prometheus_port, std::string* raw);

// Every rule's health from GET /api/v1/rules: (rule name, "ok" or the last evaluation error).
std::vector<std::pair<std::string, std::string>> prometheus_rule_health(uint16_t prometheus_port, std::string* raw);

}  // namespace blackbox
