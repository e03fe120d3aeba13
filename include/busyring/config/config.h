// The frozen configuration: every command-line flag, parsed once before the shards start and
// shared read-only by them. Field names follow the flag names (--max-body -> max_body).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/log.h"

namespace busyring::config {

// What a 201 promises (see README "Ack modes").
enum class Ack : uint8_t {
  durable,  // the write holding the record is on stable storage (O_DIRECT + a linked fdatasync)
  written,  // the write reached the device (O_DIRECT, no cache flush)
  memory,   // answered at once: unsafe, a crash loses what was not yet written
};

const char* ack_name(Ack ack) noexcept;

// Where id blocks come from (--id-source): the node's own counter, or ranges reserved from a
// counter shared by a cluster of nodes: Redis (redis://HOST:PORT/KEY) or etcd
// (etcd://HOST:PORT[,HOST:PORT...]/PREFIX).
enum class IdSourceKind : uint8_t { local, redis, etcd };

struct IdSourceMember {
  std::string host;
  uint16_t port = 2379;
};

struct IdSource {
  IdSourceKind kind = IdSourceKind::local;
  std::string host;  // redis only
  uint16_t port = 6379;
  std::string key = "busyring:ids";  // redis: the counter's key; etcd: the keys' prefix
  std::vector<IdSourceMember> members;  // etcd only: any members of the cluster
  bool shared() const noexcept { return kind != IdSourceKind::local; }
};

struct Config {
  uint16_t port = 3000;
  // "::" serves IPv6 and IPv4 on one dual-stack socket per shard; where the kernel has no IPv6,
  // the default (and only the default: an explicit --bind never changes) falls back to 0.0.0.0.
  std::string bind = "::";
  bool bind_ipv4_fallback = true;  // false once --bind was given
  uint32_t threads = 0;  // 0 until parsed: defaults to the online cores
  std::string data_dir = "./data";
  Ack ack = Ack::durable;
  uint32_t max_body = 64 * 1024;
  uint32_t max_header = 8 * 1024;
  // The most usages one request may carry (a JSON array or NDJSON body); 413 above it.
  uint32_t max_batch = 1000;
  uint32_t max_connections = 10'000;
  uint32_t idle_timeout_ms = 60'000;
  uint32_t request_timeout_ms = 10'000;
  uint32_t id_block = 32;
  IdSource id_source;
  // Credentials for the shared counter, from files: paths, never secrets, so that `ps` shows
  // none. --id-source-password-file (issue 18): Redis: "PASSWORD" or "USER PASSWORD" (an ACL
  // user) for AUTH; etcd: "USER PASSWORD" or "USER:PASSWORD". etcd over TLS (issue 21): the CA
  // that signed the members' certificates, and a client certificate with its key.
  std::string id_source_password_file;
  std::string id_source_ca_file;
  std::string id_source_cert_file;
  std::string id_source_key_file;
  // The most ids a node holds in reserve from the shared counter; refilled by id_reserve/2 per
  // reservation when it falls under half (so it never holds more than this: the cluster's
  // density bound).
  uint32_t id_reserve = 32768;
  // --auth-token-file (issue 18): bearer tokens, one per line, that POST /api/usages (and
  // /metrics on the public port) ask for; re-read on SIGHUP. Empty: no token asked.
  std::string auth_token_file;
  // --admin-bind ADDR:PORT: a second listener for /metrics and /healthz (no token asked), and
  // /metrics leaves the public port. Empty admin_bind: none.
  std::string admin_bind;
  uint16_t admin_port = 0;
  uint64_t segment_size = 64ull << 20;
  // The live log's bound (bytes of segment files on disk): at it, POSTs get 503 until exported
  // segments are retired. 0: no bound.
  uint64_t max_log_size = 0;
  // --export-checkpoint FILE: the export chain's committed checkpoint (busyring-export.service:
  // /var/lib/busyring-export/checkpoint), read once a second for busyring_export_lag_seconds.
  // Empty: no export is set up; the gauge is not exported.
  std::string export_checkpoint;
  // Log writes in flight per shard, and the records an overlapping one waits for: measured
  // against one write in flight with wrk -c64, 4/8 won (perf/RESULTS.md).
  uint32_t log_writes = 4;
  uint32_t log_min_batch = 8;
  uint32_t log_interval_ms = 0;  // 0: off; else log rate, p99 and flush size this often
  base::LogFormat log_format = base::LogFormat::text;  // --log-format text|json
  base::Level log_level = base::Level::info;           // --log-level: the least level written
  // Refuse a POST whose declared Content-Type is not JSON (415). Off by default: the body
  // decides, since the seeds' own tools post JSON as text/plain (ab, loadtest) or a form (curl -d).
  bool strict_content_type = false;
  bool cpu_affinity = true;
  std::vector<int> cpus;  // explicit --cpu-affinity list; empty = the CPUs we may run on, in order
};

}  // namespace busyring::config
