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
  durable,  // the write holding the record is on stable storage (O_DIRECT|O_DSYNC)
  written,  // the write reached the device (O_DIRECT, no cache flush)
  memory,   // answered at once: unsafe, a crash loses what was not yet written
};

const char* ack_name(Ack ack) noexcept;

// Where id blocks come from (--id-source): the node's own counter, or ranges reserved from a
// Redis counter shared by a cluster of nodes (redis://HOST:PORT/KEY).
struct IdSource {
  bool redis = false;
  std::string host;  // redis only
  uint16_t port = 6379;
  std::string key = "busyring:ids";
};

struct Config {
  uint16_t port = 3000;
  std::string bind = "0.0.0.0";
  uint32_t threads = 0;  // 0 until parsed: defaults to the online cores
  std::string data_dir = "./data";
  Ack ack = Ack::durable;
  uint32_t max_body = 64 * 1024;
  uint32_t max_header = 8 * 1024;
  uint32_t max_connections = 10'000;
  uint32_t idle_timeout_ms = 60'000;
  uint32_t request_timeout_ms = 10'000;
  uint32_t id_block = 32;
  IdSource id_source;
  // The most ids a node holds in reserve from Redis; refilled by id_reserve/2 per INCRBY when it
  // falls under half (so it never holds more than this: the cluster's density bound).
  uint32_t id_reserve = 32768;
  uint64_t segment_size = 64ull << 20;
  // Log writes in flight per shard, and the records an overlapping one waits for: measured
  // against one write in flight with wrk -c64, 4/8 won (perf/RESULTS.md).
  uint32_t log_writes = 4;
  uint32_t log_min_batch = 8;
  uint32_t log_interval_ms = 0;  // 0: off; else log rate, p99 and flush size this often
  base::LogFormat log_format = base::LogFormat::text;  // --log-format text|json
  base::Level log_level = base::Level::info;           // --log-level: the least level written
  bool cpu_affinity = true;
  std::vector<int> cpus;  // explicit --cpu-affinity list; empty = the CPUs we may run on, in order
};

}  // namespace busyring::config
