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

// Prometheus in dir, scraping 127.0.0.1:target_port every second (job "busyring"). The listen
// port is picked free and may be lost to a race before Prometheus binds it: then it is tried
// again.
class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, uint16_t target_port);
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

}  // namespace blackbox
