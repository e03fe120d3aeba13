// Flag parsing: `--name value` and `--name=value`; each flag validated against its range.
#include "busyring/config/flags.h"

#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace busyring::config {
namespace {

base::Error bad(const std::string& flag, const std::string& allowed, const std::string& got) {
  return base::Error{flag + ": expected " + allowed + ", got '" + got + "' (see --help)"};
}

bool parse_u64(const std::string& text, uint64_t& out) noexcept {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

bool in_range(uint64_t v, uint64_t lo, uint64_t hi) noexcept { return v >= lo && v <= hi; }

}  // namespace

const char* ack_name(Ack ack) noexcept {
  switch (ack) {
    case Ack::durable: return "durable";
    case Ack::written: return "written";
    case Ack::memory: return "memory";
  }
  return "?";
}

bool parse_size(const std::string& text, uint64_t& out) noexcept {
  if (text.empty()) return false;
  uint64_t mult = 1;
  std::string digits = text;
  const char last = text.back();
  if (last == 'K' || last == 'k') mult = 1ull << 10;
  if (last == 'M' || last == 'm') mult = 1ull << 20;
  if (last == 'G' || last == 'g') mult = 1ull << 30;
  if (mult != 1) digits.pop_back();
  uint64_t v = 0;
  if (!parse_u64(digits, v)) return false;
  if (v > UINT64_MAX / mult) return false;
  out = v * mult;
  return true;
}

bool parse_duration_ms(const std::string& text, uint64_t& out) noexcept {
  uint64_t v = 0;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "ms") == 0) {
    if (!parse_u64(text.substr(0, text.size() - 2), v)) return false;
    out = v;
    return true;
  }
  std::string digits = text;
  if (!digits.empty() && digits.back() == 's') digits.pop_back();
  if (!parse_u64(digits, v) || v > UINT32_MAX / 1000) return false;
  out = v * 1000;
  return true;
}

bool parse_cpu_list(const std::string& text, std::vector<int>& out) noexcept {
  out.clear();
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    const size_t dash = item.find('-');
    uint64_t lo = 0, hi = 0;
    if (dash == std::string::npos) {
      if (!parse_u64(item, lo)) return false;
      hi = lo;
    } else if (!parse_u64(item.substr(0, dash), lo) || !parse_u64(item.substr(dash + 1), hi)) {
      return false;
    }
    if (lo > hi || hi >= CPU_SETSIZE) return false;
    for (uint64_t c = lo; c <= hi; ++c) out.push_back(static_cast<int>(c));
    pos = comma + 1;
  }
  return !out.empty();
}

// "local", or redis://HOST[:PORT][/KEY] (KEY: printable, no spaces; Redis keys may hold ':').
bool parse_id_source(const std::string& text, IdSource& out) noexcept {
  IdSource s;
  if (text == "local") {
    out = s;
    return true;
  }
  constexpr std::string_view kScheme = "redis://";
  if (text.rfind(kScheme, 0) != 0) return false;
  std::string rest = text.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    const std::string key = rest.substr(slash + 1);
    if (!key.empty()) s.key = key;
    rest.resize(slash);
    for (const char ch : s.key)
      if (ch <= ' ' || ch == 0x7f) return false;
  }
  const size_t colon = rest.rfind(':');
  if (colon != std::string::npos) {
    uint64_t port = 0;
    if (!parse_u64(rest.substr(colon + 1), port) || port == 0 || port > 65535) return false;
    s.port = static_cast<uint16_t>(port);
    rest.resize(colon);
  }
  if (rest.empty()) return false;
  s.host = rest;
  s.redis = true;
  out = s;
  return true;
}

const char* help_text() noexcept {
  return R"(usage: busyring [flags]

HTTP/1.1 ingestion server: POST /api/usages -> 201 {"id":N}, each record written durably to
a per-core O_DIRECT log before it is acknowledged.

  --port N             TCP port (default 3000; 0 picks a free port, printed as
                       "listening on HOST:PORT" on stderr once the server accepts)
  --bind ADDR          IPv4 address to listen on (default 0.0.0.0)
  --threads N          shards, one pinned thread each (default: one per online core)
  --data-dir DIR       log directory (default ./data; created if missing)
  --ack MODE           durable (default): 201 once the record is on stable storage;
                       written: once the write reached the device (no cache flush);
                       memory: 201 at once, UNSAFE, a crash loses unwritten records
  --max-body SIZE      largest request body, e.g. 64K (default 64K) -> 413 above it
  --max-header SIZE    largest request head (request line + headers) (default 8K) -> 431
  --max-connections N  open connections over all shards (default 10000)
  --idle-timeout DUR   close keep-alive connections idle this long (default 60s; "500ms")
  --request-timeout DUR  a started request must be complete within this (default 10s) -> 408
  --id-block N         ids a shard reserves at a time from the shared counter (default 32:
                       at most threads x N ids are unused at any moment, keeping ids dense)
  --id-source SRC      local (default: this node's own counter) or redis://HOST:PORT/KEY
                       (KEY default busyring:ids): id ranges reserved from a Redis counter
                       shared by several nodes (INCRBY), each written to DATA_DIR/id-ranges
                       before any of its ids is issued
  --id-reserve N       with redis: the most ids held in reserve (default 32768); one INCRBY
                       of N/2 whenever the reserve falls under N/2
  --segment-size SIZE  log segment file size, a multiple of 1M (default 64M)
  --log-interval DUR   log rate, p99 latency and records per flush this often (default off)
  --log-format FMT     text (default) or json (one object per line: ts, level, msg,
                       fields); under systemd each line carries its journal priority
  --log-level LEVEL    debug, info (default), warn or error: the least level logged
  --log-writes N       log writes in flight per shard (default 4; 1 is classic group
                       commit; more overlap cache flushes, each waiting for --log-min-batch)
  --log-min-batch N    records an overlapping log write waits for (default 8)
  --cpu-affinity LIST  pin shard k to the k-th CPU of LIST ("0,2,4-7"), "auto" (default:
                       the CPUs this process may use, in order) or "none"
  --help               this text
)";
}

base::Result<Parsed> parse_flags(int argc, const char* const* argv) {
  Parsed parsed;
  Config& c = parsed.config;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      parsed.outcome = ParseOutcome::help;
      return parsed;
    }
    if (arg.rfind("--", 0) != 0) return base::Error{"unexpected argument '" + arg + "' (see --help)"};
    std::string value;
    const size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else {
      if (i + 1 >= argc) return base::Error{arg + ": missing value (see --help)"};
      value = argv[++i];
    }
    uint64_t v = 0;
    if (arg == "--port") {
      if (!parse_u64(value, v) || v > 65535) return bad(arg, "a port 0..65535", value);
      c.port = static_cast<uint16_t>(v);
    } else if (arg == "--bind") {
      if (value.empty()) return bad(arg, "an IPv4 address", value);
      c.bind = value;
    } else if (arg == "--threads") {
      if (!parse_u64(value, v) || !in_range(v, 1, 1024)) return bad(arg, "1..1024", value);
      c.threads = static_cast<uint32_t>(v);
    } else if (arg == "--data-dir") {
      if (value.empty()) return bad(arg, "a directory", value);
      c.data_dir = value;
    } else if (arg == "--ack") {
      if (value == "durable") c.ack = Ack::durable;
      else if (value == "written") c.ack = Ack::written;
      else if (value == "memory") c.ack = Ack::memory;
      else return bad(arg, "durable, written or memory", value);
    } else if (arg == "--max-body") {
      if (!parse_size(value, v) || !in_range(v, 64, 16ull << 20)) return bad(arg, "a size 64..16M", value);
      c.max_body = static_cast<uint32_t>(v);
    } else if (arg == "--max-header") {
      if (!parse_size(value, v) || !in_range(v, 256, 1ull << 20)) return bad(arg, "a size 256..1M", value);
      c.max_header = static_cast<uint32_t>(v);
    } else if (arg == "--max-connections") {
      if (!parse_u64(value, v) || !in_range(v, 1, 1'000'000)) return bad(arg, "1..1000000", value);
      c.max_connections = static_cast<uint32_t>(v);
    } else if (arg == "--idle-timeout") {
      if (!parse_duration_ms(value, v) || !in_range(v, 1, 86'400'000)) return bad(arg, "a duration 1ms..24h", value);
      c.idle_timeout_ms = static_cast<uint32_t>(v);
    } else if (arg == "--request-timeout") {
      if (!parse_duration_ms(value, v) || !in_range(v, 1, 86'400'000)) return bad(arg, "a duration 1ms..24h", value);
      c.request_timeout_ms = static_cast<uint32_t>(v);
    } else if (arg == "--id-block") {
      if (!parse_u64(value, v) || !in_range(v, 1, 1'000'000)) return bad(arg, "1..1000000", value);
      c.id_block = static_cast<uint32_t>(v);
    } else if (arg == "--id-source") {
      if (!parse_id_source(value, c.id_source))
        return bad(arg, "local or redis://HOST:PORT/KEY", value);
    } else if (arg == "--id-reserve") {
      if (!parse_u64(value, v) || !in_range(v, 2, 1u << 30)) return bad(arg, "2..1073741824", value);
      c.id_reserve = static_cast<uint32_t>(v);
    } else if (arg == "--segment-size") {
      if (!parse_size(value, v) || !in_range(v, 1ull << 20, 1ull << 40) || v % (1ull << 20) != 0)
        return bad(arg, "a multiple of 1M, 1M..1T", value);
      c.segment_size = v;
    } else if (arg == "--log-interval") {
      if (!parse_duration_ms(value, v) || v > 86'400'000) return bad(arg, "a duration up to 24h (0 = off)", value);
      c.log_interval_ms = static_cast<uint32_t>(v);
    } else if (arg == "--log-format") {
      if (!base::parse_log_format(value, c.log_format)) return bad(arg, "text or json", value);
    } else if (arg == "--log-level") {
      if (!base::parse_level(value, c.log_level)) return bad(arg, "debug, info, warn or error", value);
    } else if (arg == "--log-writes") {
      if (!parse_u64(value, v) || !in_range(v, 1, 8)) return bad(arg, "1..8", value);
      c.log_writes = static_cast<uint32_t>(v);
    } else if (arg == "--log-min-batch") {
      if (!parse_u64(value, v) || !in_range(v, 1, 4096)) return bad(arg, "1..4096", value);
      c.log_min_batch = static_cast<uint32_t>(v);
    } else if (arg == "--cpu-affinity") {
      if (value == "none") {
        c.cpu_affinity = false;
        c.cpus.clear();
      } else if (value == "auto") {
        c.cpu_affinity = true;
        c.cpus.clear();
      } else if (!parse_cpu_list(value, c.cpus)) {
        return bad(arg, "auto, none or a CPU list like 0,2,4-7", value);
      }
    } else {
      return base::Error{"unknown flag '" + arg + "' (see --help)"};
    }
  }
  if (c.threads == 0) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    c.threads = n > 0 ? static_cast<uint32_t>(n) : 1;
  }
  if (!c.cpus.empty() && c.cpus.size() < c.threads)
    return base::Error{"--cpu-affinity: lists " + std::to_string(c.cpus.size()) +
                       " CPUs for " + std::to_string(c.threads) + " threads; list one per thread"};
  return parsed;
}

}  // namespace busyring::config
