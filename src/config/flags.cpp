// busyring's flags: one table (base/flags.h) that parses into Config and renders --help. The
// defaults shown in --help are read from a default Config, so they cannot drift from the code.
#include "busyring/config/flags.h"

#include <unistd.h>

#include "busyring/base/flags.h"
#include "busyring/base/ip_address.h"
#include "busyring/base/log.h"

namespace busyring::config {
namespace {

using base::Flag;
using base::kNsPerHour;
using base::kNsPerMs;

constexpr uint64_t kMaxTimeoutNs = 24 * kNsPerHour;

Flag bind_flag(Config& c) {
  return Flag{"--bind", "ADDR",
              "address to listen on, IPv4 or IPv6 (0.0.0.0, 127.0.0.1, ::1, [::1]; no host names). "
              "The default :: serves IPv6 and IPv4 on one socket per shard, and IPv4 alone (0.0.0.0) "
              "where the kernel has no IPv6",
              c.bind, [&c](std::string_view v) -> std::string {
                base::IpAddress address;
                if (!base::parse_ip_address(v, address)) return "a numeric IPv4 or IPv6 address (0.0.0.0, ::, ::1)";
                c.bind = v;
                c.bind_ipv4_fallback = false;
                return "";
              }};
}

Flag id_source_flag(Config& c) {
  return Flag{"--id-source", "SRC",
              "local: this node's own counter; or id ranges reserved from a counter shared by several "
              "nodes, each written to DATA_DIR/id-ranges before any of its ids is issued: "
              "redis://HOST[:PORT][/KEY] (KEY default busyring:ids; one Redis, INCRBY), or "
              "etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX] (PORT 2379, PREFIX default /busyring/ids; "
              "any members of an etcd cluster, a transaction per range: no single point of failure)",
              "local", [&c](std::string_view v) -> std::string {
                return parse_id_source(std::string(v), c.id_source)
                           ? ""
                           : "local, redis://HOST[:PORT][/KEY] or etcd://HOST[:PORT][,HOST[:PORT]...][/PREFIX]";
              }};
}

// Credential files only where a source reads them (the files themselves are read at start-up).
std::string check_id_source_files(const Config& c) {
  const bool tls = !c.id_source_ca_file.empty() || !c.id_source_cert_file.empty() || !c.id_source_key_file.empty();
  if (tls && c.id_source.kind != IdSourceKind::etcd)
    return std::string("--id-source-ca-file, -cert-file and -key-file: only for --id-source etcd://... (") +
           (c.id_source.kind == IdSourceKind::redis
                ? "the Redis source has no TLS; run Redis on a private network or loopback, TLS at the edge"
                : "the local counter needs no credentials") +
           ")";
  if (!c.id_source_password_file.empty() && !c.id_source.shared())
    return "--id-source-password-file: only for --id-source redis://HOST:PORT/KEY or etcd://HOST:PORT/PREFIX";
  return "";
}

// --log-format and --log-level take the words base/log.h parses, so the two cannot disagree.
Flag log_format_flag(Config& c) {
  return Flag{"--log-format", "FMT",
              "text, or json: one object per line (ts, level, msg, fields) for a log shipper. Under "
              "systemd (stderr is the journal) each line starts with its syslog priority, either way",
              "text", [&c](std::string_view v) -> std::string {
                return base::parse_log_format(v, c.log_format) ? "" : "text or json";
              }};
}

Flag log_level_flag(Config& c) {
  return Flag{"--log-level", "LEVEL", "the least level logged: debug, info, warn or error",
              base::level_name(c.log_level), [&c](std::string_view v) -> std::string {
                return base::parse_level(v, c.log_level) ? "" : "debug, info, warn or error";
              }};
}

Flag admin_bind_flag(Config& c) {
  return Flag{"--admin-bind", "ADDR:PORT",
              "a second listener for /metrics, /status and /healthz, asking no token (127.0.0.1:9100, "
              "[::1]:9100; port 0 picks one, printed as \"admin listener on HOST:PORT\"); the public "
              "port then answers 404 for /metrics and /status. Keep it on loopback or a private network",
              "none", [&c](std::string_view v) -> std::string {
                return parse_address_port(std::string(v), c.admin_bind, c.admin_port)
                           ? ""
                           : "ADDR:PORT with a numeric address, IPv6 in brackets (127.0.0.1:9100, [::1]:9100)";
              }};
}

Flag cpu_affinity_flag(Config& c) {
  return Flag{"--cpu-affinity", "LIST",
              "pin shard k to the k-th CPU of LIST (0,2,4-7); auto: the CPUs this process may use, "
              "in order; none: no pinning",
              "auto", [&c](std::string_view v) -> std::string {
                if (v == "none" || v == "auto") {
                  c.cpu_affinity = v == "auto";
                  c.cpus.clear();
                  return "";
                }
                return parse_cpu_list(std::string(v), c.cpus) ? "" : "auto, none or a CPU list like 0,2,4-7";
              }};
}

// Where the server listens and what one request or connection may take.
base::FlagTable serving_flags(Config& c) {
  using base::count_flag;
  using base::duration_flag;
  using base::size_flag;
  const base::DurationUnits ms{kNsPerMs};
  return {
      count_flag("--port", "N",
                 "TCP port; 0 picks a free port. \"listening on HOST:PORT\" is printed on stderr once "
                 "the server accepts",
                 c.port, 0, 65535),
      bind_flag(c),
      count_flag("--threads", "N", "shards, one pinned thread each", c.threads, 1, 1024)
          .defaults_to("one per online core"),
      base::text_flag("--data-dir", "DIR", "log directory; created if missing; one server per dir (DIR/LOCK)",
                      c.data_dir),
      base::choice_flag("--ack", "MODE",
                        "durable: 201 once the record is on stable storage;\nwritten: once the write "
                        "reached the device (no cache flush);\nmemory: 201 at once, UNSAFE: a crash "
                        "loses what was not yet written\n",
                        c.ack, {{"durable", Ack::durable}, {"written", Ack::written}, {"memory", Ack::memory}}),
      size_flag("--max-body", "largest request body; 413 above it", c.max_body, 64, 16ull << 20),
      count_flag("--max-batch", "N",
                 "most usages in one request (a JSON array, or NDJSON); 413 above it. A gzip body's "
                 "decompressed size is bounded by --max-body too",
                 c.max_batch, 1, 100'000),
      size_flag("--max-header", "largest request head (request line and headers); 431 above it", c.max_header,
                256, 1ull << 20),
      count_flag("--max-connections", "N", "open connections over all shards", c.max_connections, 1, 1'000'000),
      duration_flag("--idle-timeout", "close keep-alive connections idle this long; a plain number is seconds",
                    c.idle_timeout_ms, ms, kNsPerMs, kMaxTimeoutNs),
      duration_flag("--request-timeout", "a started request must be complete within this; 408 after it",
                    c.request_timeout_ms, ms, kNsPerMs, kMaxTimeoutNs),
  };
}

// Where ids come from (and its credentials), who may post, the admin listener.
base::FlagTable id_and_access_flags(Config& c) {
  using base::count_flag;
  return {
      count_flag("--id-block", "N",
                 "ids a shard reserves at a time from the shared counter: at most threads x N ids are "
                 "unused at any moment, keeping ids dense",
                 c.id_block, 1, 1'000'000),
      id_source_flag(c),
      // The shared counter's credentials: paths, so that `ps` shows no secret.
      base::text_flag("--id-source-password-file", "FILE",
                      "credentials in FILE, never on the command line. redis: one line \"PASSWORD\" or "
                      "\"USER PASSWORD\" (a Redis ACL user), AUTH on every (re)connect; etcd: one line "
                      "\"USER PASSWORD\" or \"USER:PASSWORD\" (an etcd user; the password is the rest of "
                      "the line), signed in again whenever a member asks",
                      c.id_source_password_file),
      base::text_flag("--id-source-ca-file", "FILE",
                      "etcd over TLS (https): the CA (PEM) that signed the members' certificates",
                      c.id_source_ca_file),
      base::text_flag("--id-source-cert-file", "FILE",
                      "etcd over TLS: a client certificate (PEM), with --id-source-key-file", c.id_source_cert_file),
      base::text_flag("--id-source-key-file", "FILE", "etcd over TLS: the client certificate's private key (PEM)",
                      c.id_source_key_file),
      base::text_flag("--auth-token-file", "FILE",
                      "ask POST /api/usages (and /metrics on the public port) for \"Authorization: Bearer "
                      "TOKEN\", TOKEN one of FILE's lines (blank lines and # comments skipped; several for "
                      "rotation); 401 otherwise. SIGHUP re-reads FILE. /healthz stays open",
                      c.auth_token_file),
      admin_bind_flag(c),
      count_flag("--id-reserve", "N",
                 "with redis or etcd: the most ids held in reserve; one reservation of N/2 whenever the "
                 "reserve falls under N/2",
                 c.id_reserve, 2, 1u << 30),
  };
}

// The log on disk, the server's own log lines, and tuning.
base::FlagTable log_and_tuning_flags(Config& c) {
  using base::count_flag;
  using base::duration_flag;
  using base::size_flag;
  const base::DurationUnits ms{kNsPerMs};
  return {
      size_flag("--segment-size", "log segment file size", c.segment_size, 1ull << 20, 1ull << 40, 1ull << 20),
      size_flag("--max-log-size",
                "once the segment files on disk reach this, POST answers 503 (Retry-After) and /healthz "
                "says why, until exported segments are retired (busyring-log retire); the server never "
                "deletes records. 0: no limit",
                c.max_log_size, 0, 1ull << 50)
          .defaults_to("0 (no limit)"),
      base::text_flag("--export-checkpoint", "FILE",
                      "the export chain's committed checkpoint (busyring-export.service's BUSYRING_CHECKPOINT); "
                      "/metrics then shows busyring_export_lag_seconds, the age of the oldest record FILE does not "
                      "cover yet (every record while FILE does not exist)",
                      c.export_checkpoint)
          .defaults_to("none (no export lag gauge)"),
      duration_flag("--log-interval", "log rate, p99 latency and records per flush this often; 0 is off",
                    c.log_interval_ms, ms, 0, kMaxTimeoutNs)
          .defaults_to("off"),
      log_format_flag(c),
      log_level_flag(c),
      count_flag("--log-writes", "N",
                 "log writes in flight per shard: 1 is classic group commit; more overlap cache "
                 "flushes, each waiting for --log-min-batch",
                 c.log_writes, 1, 8),
      count_flag("--log-min-batch", "N", "records an overlapping log write waits for", c.log_min_batch, 1, 4096),
      cpu_affinity_flag(c),
      base::switch_flag("--strict-content-type",
                        "answer 415 to a POST whose Content-Type is declared and is not JSON. Without it "
                        "the body decides: a valid usage is stored whatever the Content-Type says (ab and "
                        "loadtest send text/plain, curl -d a form)",
                        c.strict_content_type),
  };
}

// Every flag, in --help's order.
base::FlagTable flag_table(Config& c) {
  base::FlagTable table = serving_flags(c);
  for (base::FlagTable part : {id_and_access_flags(c), log_and_tuning_flags(c)})
    table.insert(table.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  return table;
}

}  // namespace

std::string help_text() {
  Config defaults;
  return "usage: busyring [flags]\n"
         "\n"
         "HTTP/1.1 ingestion server: POST /api/usages -> 201 {\"id\":N}, each record written to a\n"
         "per-core O_DIRECT log before it is acknowledged. Sizes: 64K, 1M, 1MiB (binary units);\n"
         "durations: 500ms, 10s, 1m, 24h.\n"
         "\n" +
         base::render_flags(flag_table(defaults)) +
         "\n"
         "Signals: SIGTERM, SIGINT and SIGQUIT stop gracefully (stop accepting, answer and flush what\n"
         "was received, exit 0); SIGHUP re-reads --auth-token-file (when given) and the server keeps\n"
         "serving.\n"
         "Exit status: 0 after a clean stop, 1 when it cannot start, 2 on a bad flag.\n";
}

base::Result<Parsed> parse_flags(int argc, const char* const* argv) {
  Parsed parsed;
  Config& c = parsed.config;
  {
    const base::FlagTable table = flag_table(c);
    auto outcome = base::parse_flags(table, argc, argv);
    if (!outcome) return base::Error{outcome.error()};
    if (outcome.value() == base::FlagOutcome::help) parsed.outcome = ParseOutcome::help;
    if (outcome.value() == base::FlagOutcome::version) parsed.outcome = ParseOutcome::version;
  }
  if (parsed.outcome != ParseOutcome::run) return parsed;
  if (c.threads == 0) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    c.threads = n > 0 ? static_cast<uint32_t>(n) : 1;
  }
  if (const std::string wrong = check_id_source_files(c); !wrong.empty()) return base::Error{wrong};
  if (!c.cpus.empty() && c.cpus.size() < c.threads)
    return base::Error{"--cpu-affinity: lists " + std::to_string(c.cpus.size()) + " CPUs for " +
                       std::to_string(c.threads) + " threads; list one per thread"};
  return parsed;
}

}  // namespace busyring::config
