// Summary rendering. Both forms report the same numbers: requests and responses, achieved
// rate, errors by kind (and unexpected statuses by code), missed open-loop sends, latency
// percentiles (us) and the generator's own CPU time.
#include "report.h"

namespace busyring::load {
namespace {

struct Percentile {
  const char* text_name;
  const char* json_name;
  double percentile;
};
constexpr Percentile percentiles[] = {
    {"p50", "p50", 50},        {"p90", "p90", 90},          {"p99", "p99", 99},
    {"p99.9", "p99_9", 99.9}, {"p99.99", "p99_99", 99.99},
};

double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

double rate(const RunResult& r) {
  return r.duration_s > 0 ? static_cast<double>(r.stats.responses) / r.duration_s : 0;
}

double cpu_us_per_response(const RunResult& r) {
  if (r.stats.responses == 0) return 0;
  return (r.cpu_user_s + r.cpu_sys_s) * 1e6 / static_cast<double>(r.stats.responses);
}

unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }

}  // namespace

void print_text(std::FILE* out, const Options& o, const RunResult& r) {
  const Stats& s = r.stats;
  const char* method = o.method == Method::post ? "POST" : "GET";
  if (o.rate > 0) {
    std::fprintf(out, "%s %s: open loop at %.0f req/s", method, o.url.c_str(), o.rate);
  } else {
    std::fprintf(out, "%s %s: closed loop", method, o.url.c_str());
  }
  std::fprintf(out, ", %u connections, pipeline %u, %u thread%s, %.1f s\n", o.connections,
               o.pipeline, o.threads, o.threads == 1 ? "" : "s", r.duration_s);
  std::fprintf(out, "  requests   %llu sent, %llu answered (%llu ok), %.1f req/s\n",
               ull(s.sent), ull(s.responses), ull(s.ok), rate(r));
  std::fprintf(out, "  errors     %llu:", ull(s.error_total()));
  for (uint32_t k = 0; k < error_kind_count; k++) {
    std::fprintf(out, " %s %llu", error_kind_name(static_cast<ErrorKind>(k)), ull(s.errors[k]));
  }
  std::fprintf(out, "\n");
  for (uint32_t code = 0; code < s.by_status.size(); code++) {
    if (s.by_status[code] != 0) {
      std::fprintf(out, "             status %u: %llu\n", code, ull(s.by_status[code]));
    }
  }
  if (o.rate > 0) {
    std::fprintf(out, "  missed     %llu (due before the end, never sent: the server fell "
                 "behind)\n", ull(s.missed));
  }
  std::fprintf(out, "  latency    (us, from the intended send time)\n            ");
  for (const Percentile& p : percentiles) {
    std::fprintf(out, " %s %.1f", p.text_name, us(r.histogram.value_at_percentile(p.percentile)));
  }
  std::fprintf(out, " max %.1f\n", us(r.histogram.max()));
  std::fprintf(out, "  cpu        user %.2f s, sys %.2f s, %.2f us per response\n",
               r.cpu_user_s, r.cpu_sys_s, cpu_us_per_response(r));
  if (s.ids > 0) {
    std::fprintf(out, "  ids        %llu acknowledged, %.1f records/s\n", ull(s.ids),
                 r.duration_s > 0 ? static_cast<double>(s.ids) / r.duration_s : 0);
  }
}

void print_json(std::FILE* out, const Options& o, const RunResult& r) {
  const Stats& s = r.stats;
  std::fprintf(out,
               "{\"method\":\"%s\",\"rate_target\":%.3f,\"connections\":%u,\"pipeline\":%u,"
               "\"threads\":%u,\"duration_s\":%.6f,\"sent\":%llu,\"requests\":%llu,\"ok\":%llu,"
               "\"ids\":%llu,\"rate\":%.3f,\"records_rate\":%.3f,\"missed\":%llu,",
               o.method == Method::post ? "POST" : "GET", o.rate, o.connections, o.pipeline,
               o.threads, r.duration_s, ull(s.sent), ull(s.responses), ull(s.ok), ull(s.ids),
               rate(r), r.duration_s > 0 ? static_cast<double>(s.ids) / r.duration_s : 0, ull(s.missed));
  std::fprintf(out, "\"errors\":{\"total\":%llu", ull(s.error_total()));
  for (uint32_t k = 0; k < error_kind_count; k++) {
    std::fprintf(out, ",\"%s\":%llu", error_kind_name(static_cast<ErrorKind>(k)),
                 ull(s.errors[k]));
  }
  std::fprintf(out, ",\"by_status\":{");
  const char* sep = "";
  for (uint32_t code = 0; code < s.by_status.size(); code++) {
    if (s.by_status[code] == 0) continue;
    std::fprintf(out, "%s\"%u\":%llu", sep, code, ull(s.by_status[code]));
    sep = ",";
  }
  std::fprintf(out, "}},\"latency_us\":{\"min\":%.3f,\"mean\":%.3f", us(r.histogram.min()),
               r.histogram.mean() / 1000.0);
  for (const Percentile& p : percentiles) {
    std::fprintf(out, ",\"%s\":%.3f", p.json_name,
                 us(r.histogram.value_at_percentile(p.percentile)));
  }
  std::fprintf(out, ",\"max\":%.3f},", us(r.histogram.max()));
  std::fprintf(out, "\"cpu_s\":{\"user\":%.6f,\"sys\":%.6f},\"cpu_us_per_request\":%.3f}\n",
               r.cpu_user_s, r.cpu_sys_s, cpu_us_per_response(r));
}

}  // namespace busyring::load
