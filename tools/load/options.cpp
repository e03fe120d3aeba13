// busyring-load's flags: one table that parses into Options and renders --help. Every value is
// range-checked here so that the rest of the tool can trust Options (limits are explicit).
#include "options.h"

#include <charconv>
#include <string_view>

#include "busyring/base/flags.h"

namespace busyring::load {
namespace {

constexpr uint32_t max_connections = 100000;  // 16 KiB of receive buffer each
constexpr uint32_t max_pipeline = 1024;
constexpr uint32_t max_threads = 256;

bool fail(std::string* error, std::string_view flag, std::string_view why) {
  *error = std::string(flag) + ": " + std::string(why);
  return false;
}

bool to_u32(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return false;
  *out = v;
  return true;
}

base::Flag url_flag(Options& o) {
  return base::Flag{"--url", "URL",
                    "http://HOST[:PORT][/PATH]; a host name is tried at each of its addresses in turn, "
                    "as curl does",
                    o.url, [&o](std::string_view v) -> std::string {
                      Url url;
                      std::string why;
                      if (!parse_url(std::string(v), &url, &why))  // why: "--url: missing host"
                        return "http://HOST[:PORT][/PATH] (" + why.substr(why.find(": ") + 2) + ")";
                      o.url = v;
                      return "";
                    }};
}

base::FlagTable flag_table(Options& o) {
  using base::DurationUnits;
  using base::kNsPerMs;
  using base::kNsPerS;
  using base::kNsPerUs;
  return {
      url_flag(o),
      base::number_flag("--rate", "R",
                        "requests/s over all connections; 0 is a closed loop, as fast as replies allow",
                        o.rate, 0, 1e9),
      base::count_flag("--connections", "C", "keep-alive connections", o.connections, 1, max_connections),
      base::duration_flag("--duration", "how long the load runs; a plain number is seconds", o.duration_s,
                          DurationUnits{kNsPerS}, kNsPerMs, 1'000'000 * kNsPerS),
      base::count_flag("--pipeline", "N", "requests in flight per connection", o.pipeline, 1, max_pipeline),
      base::duration_flag("--batch-us",
                          "open loop: requests due within this leave together, in one wake-up (fewer "
                          "wake-ups for this tool and the server); one sent early is timed from when it "
                          "left, not before. A plain number is microseconds",
                          o.batch_us, DurationUnits{kNsPerUs, kNsPerUs}, 0, kNsPerS),
      base::count_flag("--threads", "N", "event-loop threads; connections and rate split evenly", o.threads, 1,
                       max_threads),
      base::choice_flag("--method", "M", "POST or GET", o.method, {{"POST", Method::post}, {"GET", Method::get}}),
      base::text_flag("--body", "FILE", "POST body, sent as application/json", o.body),
      base::count_flag("--batch", "K",
                       "POST a JSON array of K copies of the body (one usage): one request carries K "
                       "records, answered 201 {\"first_id\":N,\"count\":K}; records/s is K x req/s. 0 "
                       "sends the body as it is",
                       o.batch, 0, 100'000),
      base::duration_flag("--timeout", "a reply later than this is a timeout error; a plain number is seconds",
                          o.timeout_s, DurationUnits{kNsPerS}, kNsPerMs, 3600 * kNsPerS),
      base::text_flag("--ids-out", "FILE", "write every acknowledged id (201 {\"id\":N}), one per line", o.ids_out),
      base::text_flag("--hist-out", "FILE", "write the latency percentile spectrum (HdrHistogram text)",
                      o.hist_out),
      base::switch_flag("--json", "print the summary as one JSON object", o.json),
  };
}

}  // namespace

std::string usage_text() {
  Options defaults;
  return "usage: busyring-load [flags]\n"
         "Open-loop (or closed-loop) HTTP/1.1 load generator with coordinated-omission-corrected\n"
         "latencies: each request is timed from its intended send time, as wrk2 does, to the\n"
         "kernel's arrival stamp of its reply (SO_TIMESTAMPNS). Durations: 500ms, 10s, 1m.\n"
         "\n" +
         base::render_flags(flag_table(defaults)) +
         "\n"
         "Errors are counted by kind: connect, read, write, status (any reply but 201 for\n"
         "POST / 200 for GET, also by code), malformed, timeout. Exit: 0 after a run,\n"
         "1 if it could not start, 2 on a bad flag.\n";
}

bool parse_url(const std::string& url, Url* out, std::string* error) {
  constexpr std::string_view scheme = "http://";
  std::string_view rest = url;
  if (rest.substr(0, scheme.size()) != scheme) {
    return fail(error, "--url", "want http://HOST[:PORT][/PATH]");
  }
  rest.remove_prefix(scheme.size());
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "/" : rest.substr(slash);
  std::string_view host = authority;
  std::string_view port = "80";
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(error, "--url", "unclosed [ in host");
    host = authority.substr(1, close - 1);
    std::string_view tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':') return fail(error, "--url", "want [HOST]:PORT");
      port = tail.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  uint32_t port_number = 0;
  if (host.empty()) return fail(error, "--url", "missing host");
  if (!to_u32(port, &port_number) || port_number == 0 || port_number > 65535) {
    return fail(error, "--url", "want a port from 1 to 65535");
  }
  for (char c : path) {
    if (c <= ' ' || c == 0x7f) return fail(error, "--url", "path has a space or control byte");
  }
  out->host = host;
  out->port = port;
  out->path = path;
  out->authority = authority;
  return true;
}

ParseOutcome parse_options(int argc, const char* const* argv, Options* out, std::string* error) {
  const base::FlagTable table = flag_table(*out);
  const auto outcome = base::parse_flags(table, argc, argv);
  if (!outcome) {
    *error = outcome.error();
    return ParseOutcome::error;
  }
  if (outcome.value() == base::FlagOutcome::help) return ParseOutcome::help;
  if (outcome.value() == base::FlagOutcome::version) return ParseOutcome::version;
  if (out->threads > out->connections) {
    fail(error, "--threads", "more threads than connections");
    return ParseOutcome::error;
  }
  return ParseOutcome::run;
}

}  // namespace busyring::load
