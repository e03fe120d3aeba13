// Flag parsing for busyring-load. Accepts `--flag value` and `--flag=value`; every value is
// range-checked here so that the rest of the tool can trust Options (limits are explicit).
#include "options.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <string_view>

namespace busyring::load {
namespace {

constexpr uint32_t max_connections = 100000;  // 16 KiB of receive buffer each
constexpr uint32_t max_pipeline = 1024;
constexpr uint32_t max_threads = 256;

bool to_double(std::string_view s, double* out) {
  if (s.empty()) return false;
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

bool to_u32(std::string_view s, uint32_t* out) {
  if (s.empty()) return false;
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return false;
  *out = v;
  return true;
}

constexpr std::string_view value_flags[] = {
    "--rate",   "--connections", "--duration", "--timeout", "--pipeline", "--threads",
    "--method", "--url",         "--body",     "--ids-out", "--hist-out", "--batch-us"};

bool takes_value(std::string_view flag) {
  for (std::string_view known : value_flags) {
    if (flag == known) return true;
  }
  return false;
}

bool fail(std::string* error, std::string_view flag, std::string_view why) {
  *error = std::string(flag) + ": " + std::string(why);
  return false;
}

// Applies one flag with its value; false (and *error) if the value is bad.
bool apply(std::string_view flag, std::string_view value, Options* o, std::string* error) {
  if (flag == "--rate") {
    if (!to_double(value, &o->rate) || o->rate < 0) return fail(error, flag, "want a rate >= 0");
  } else if (flag == "--connections") {
    if (!to_u32(value, &o->connections) || o->connections == 0 ||
        o->connections > max_connections) {
      return fail(error, flag, "want 1 to 100000 connections");
    }
  } else if (flag == "--duration") {
    if (!to_double(value, &o->duration_s) || o->duration_s <= 0 || o->duration_s > 1e6) {
      return fail(error, flag, "want seconds > 0");
    }
  } else if (flag == "--timeout") {
    if (!to_double(value, &o->timeout_s) || o->timeout_s <= 0 || o->timeout_s > 3600) {
      return fail(error, flag, "want seconds in (0, 3600]");
    }
  } else if (flag == "--batch-us") {
    if (!to_double(value, &o->batch_us) || o->batch_us < 0 || o->batch_us > 1e6) {
      return fail(error, flag, "want microseconds in [0, 1000000]");
    }
  } else if (flag == "--pipeline") {
    if (!to_u32(value, &o->pipeline) || o->pipeline == 0 || o->pipeline > max_pipeline) {
      return fail(error, flag, "want a depth from 1 to 1024");
    }
  } else if (flag == "--threads") {
    if (!to_u32(value, &o->threads) || o->threads == 0 || o->threads > max_threads) {
      return fail(error, flag, "want 1 to 256 threads");
    }
  } else if (flag == "--method") {
    if (value == "GET") {
      o->method = Method::get;
    } else if (value == "POST") {
      o->method = Method::post;
    } else {
      return fail(error, flag, "want GET or POST");
    }
  } else if (flag == "--url") {
    Url url;
    if (!parse_url(std::string(value), &url, error)) return false;
    o->url = value;
  } else if (flag == "--body") {
    o->body = value;
  } else if (flag == "--ids-out") {
    o->ids_out = value;
  } else if (flag == "--hist-out") {
    o->hist_out = value;
  }
  return true;
}

}  // namespace

const char* usage_text() {
  return "usage: busyring-load [flags]\n"
         "Open-loop (or closed-loop) HTTP/1.1 load generator with coordinated-omission-corrected\n"
         "latencies: each request is timed from its intended send time, as wrk2 does, to the\n"
         "kernel's arrival stamp of its reply (SO_TIMESTAMPNS).\n"
         "\n"
         "  --url URL          http://HOST[:PORT][/PATH] (http://127.0.0.1:3000/api/usages)\n"
         "  --rate R           requests/s over all connections; 0 = closed loop, as fast as\n"
         "                     replies allow (0)\n"
         "  --connections C    keep-alive connections (64)\n"
         "  --duration S       seconds of load (10)\n"
         "  --pipeline N       requests in flight per connection (1)\n"
         "  --batch-us N       open loop: requests due within N us leave together, in one\n"
         "                     wake-up (fewer wake-ups for this tool and the server); one\n"
         "                     sent early is timed from when it left, not before (250)\n"
         "  --threads N        event-loop threads, connections and rate split evenly (1)\n"
         "  --method M         POST or GET (POST)\n"
         "  --body FILE        POST body, sent as application/json (data.json)\n"
         "  --timeout S        a reply later than this is a timeout error (2)\n"
         "  --ids-out FILE     write every acknowledged id (201 {\"id\":N}), one per line\n"
         "  --hist-out FILE    write the latency percentile spectrum (HdrHistogram text)\n"
         "  --json             print the summary as one JSON object\n"
         "  --help             print this text\n"
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
  for (int i = 1; i < argc; i++) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") return ParseOutcome::help;
    if (arg == "--json") {
      out->json = true;
      continue;
    }
    if (arg.substr(0, 2) != "--") {
      fail(error, arg, "unexpected argument (see --help)");
      return ParseOutcome::error;
    }
    std::string_view flag = arg;
    std::string_view value;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (!takes_value(flag)) {
      fail(error, flag, "unknown flag (see --help)");
      return ParseOutcome::error;
    }
    if (flag.size() == arg.size()) {  // no "=value": the value is the next argument
      if (i + 1 >= argc) {
        fail(error, arg, "missing value");
        return ParseOutcome::error;
      }
      value = argv[++i];
    }
    if (!apply(flag, value, out, error)) return ParseOutcome::error;
  }
  if (out->threads > out->connections) {
    fail(error, "--threads", "more threads than connections");
    return ParseOutcome::error;
  }
  return ParseOutcome::run;
}

}  // namespace busyring::load
