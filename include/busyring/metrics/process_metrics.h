// The metrics every Prometheus client library exports about its process, with the same names,
// types and meanings (client_golang's process collector), read from procfs at scrape time; and
// busyring_build_info{version,commit} 1, the usual way to put a build on a dashboard.
#pragma once

#include <cstddef>
#include <cstdint>

namespace busyring::metrics {

struct ProcessStats {
  double cpu_seconds = 0;        // user + system CPU time
  uint64_t resident_bytes = 0;   // RSS
  uint64_t virtual_bytes = 0;    // VSZ
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;          // RLIMIT_NOFILE (soft)
  double start_time_seconds = 0; // since the epoch
};

// This process's figures, or false when /proc cannot be read (then nothing is rendered).
bool read_process_stats(ProcessStats& out) noexcept;

// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds; returns the bytes written
// (ending at the last complete line when cap is short).
size_t render_process_metrics(const ProcessStats& stats, char* out, size_t cap) noexcept;

// busyring_build_info{version="...",commit="..."} 1
size_t render_build_info(const char* version, const char* commit, char* out, size_t cap) noexcept;

}  // namespace busyring::metrics
