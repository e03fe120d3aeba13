// PrometheusServer and prometheus_query (see prometheus_server.h).
#include "prometheus_server.h"

#include <cstdlib>
#include <fstream>

#include <catch2/catch.hpp>
#include <simdjson.h>

namespace blackbox {
namespace {

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  REQUIRE(f.good());
}

PrometheusServer::PrometheusServer(const TempDir& dir, uint16_t target_port)
    : PrometheusServer(dir, {ScrapeJob{"busyring", {target_port}}}, {}) {}

PrometheusServer::PrometheusServer(const TempDir& dir, const std::vector<ScrapeJob>& jobs,
                                   const std::vector<std::string>& rule_files) {
  const std::string config = dir.sub("prometheus.yml");
  std::string text =
      "global:\n"
      "  scrape_interval: 1s\n"
      "  scrape_timeout: 1s\n"
      "  evaluation_interval: 1s\n";
  if (!rule_files.empty()) {
    text += "rule_files:\n";
    for (const std::string& f : rule_files) text += "  - '" + f + "'\n";
  }
  text += "scrape_configs:\n";
  for (const ScrapeJob& job : jobs) {
    text += "  - job_name: " + job.name + "\n    metrics_path: /metrics\n    static_configs:\n      - targets: [";
    for (size_t i = 0; i < job.ports.size(); ++i)
      text += (i > 0 ? ", '" : "'") + std::string("127.0.0.1:") + std::to_string(job.ports[i]) + "'";
    text += "]\n";
  }
  write_file(config, text);
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

std::vector<Sample> prometheus_query(uint16_t prometheus_port, const std::string& promql, std::string* raw) {
  std::string error;
  const auto reply = http_get(prometheus_port, "/api/v1/query?query=" + url_encode(promql), 5'000, &error);
  INFO("query " << promql << ": " << error);
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
  std::vector<Sample> out;
  for (simdjson::dom::element series : result) {
    Sample s;
    simdjson::dom::object metric;
    REQUIRE(series["metric"].get(metric) == simdjson::SUCCESS);
    for (auto [key, value] : metric) {
      std::string_view v;
      REQUIRE(value.get(v) == simdjson::SUCCESS);
      s.labels.emplace_back(std::string(key), std::string(v));
    }
    // "value": [<unix time>, "<sample as a string>"]
    std::string_view value;
    REQUIRE(series["value"].at(1).get(value) == simdjson::SUCCESS);
    s.value = std::strtod(std::string(value).c_str(), nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace blackbox

namespace blackbox {

std::string ActiveAlert::label(const std::string& key) const {
  for (const auto& [k, v] : labels)
    if (k == key) return v;
  return "";
}

namespace {

// The "data" of a successful API answer; REQUIREs success.
simdjson::dom::element api_data(simdjson::dom::parser& parser, uint16_t port, const std::string& target,
                                std::string* raw) {
  std::string error;
  const auto reply = http_get(port, target, 5'000, &error);
  INFO(target << ": " << error);
  REQUIRE(reply.has_value());
  *raw = reply->body;
  INFO("answer " << reply->status << ": " << reply->body);
  REQUIRE(reply->status == 200);
  simdjson::dom::element doc;
  REQUIRE(parser.parse(*raw).get(doc) == simdjson::SUCCESS);
  std::string_view status;
  REQUIRE(doc["status"].get(status) == simdjson::SUCCESS);
  REQUIRE(status == "success");
  simdjson::dom::element data;
  REQUIRE(doc["data"].get(data) == simdjson::SUCCESS);
  return data;
}

}  // namespace

std::vector<ActiveAlert> prometheus_alerts(uint16_t prometheus_port, std::string* raw) {
  simdjson::dom::parser parser;
  simdjson::dom::array alerts;
  REQUIRE(api_data(parser, prometheus_port, "/api/v1/alerts", raw)["alerts"].get(alerts) == simdjson::SUCCESS);
  std::vector<ActiveAlert> out;
  for (simdjson::dom::element a : alerts) {
    ActiveAlert alert;
    std::string_view state;
    REQUIRE(a["state"].get(state) == simdjson::SUCCESS);
    alert.state = std::string(state);
    simdjson::dom::object labels;
    REQUIRE(a["labels"].get(labels) == simdjson::SUCCESS);
    for (auto [key, value] : labels) {
      std::string_view v;
      REQUIRE(value.get(v) == simdjson::SUCCESS);
      alert.labels.emplace_back(std::string(key), std::string(v));
    }
    alert.name = alert.label("alertname");
    out.push_back(std::move(alert));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> prometheus_rule_health(uint16_t prometheus_port, std::string* raw) {
  simdjson::dom::parser parser;
  simdjson::dom::array groups;
  REQUIRE(api_data(parser, prometheus_port, "/api/v1/rules", raw)["groups"].get(groups) == simdjson::SUCCESS);
  std::vector<std::pair<std::string, std::string>> out;
  for (simdjson::dom::element g : groups) {
    simdjson::dom::array rules;
    REQUIRE(g["rules"].get(rules) == simdjson::SUCCESS);
    for (simdjson::dom::element r : rules) {
      std::string_view name, health, error;
      REQUIRE(r["name"].get(name) == simdjson::SUCCESS);
      REQUIRE(r["health"].get(health) == simdjson::SUCCESS);
      if (r["lastError"].get(error) != simdjson::SUCCESS) error = "";
      out.emplace_back(std::string(name), health == "ok" ? "ok" : std::string(health) + ": " + std::string(error));
    }
  }
  return out;
}

}  // namespace blackbox
