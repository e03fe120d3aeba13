// Parallel recovery of every shard directory; see recover_all.h. Directories are handed out
// through one atomic index: a thread takes the next one as soon as it is done with its last.
#include "busyring/storage/recover_all.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "busyring/base/clock.h"
#include "busyring/storage/segment.h"

namespace busyring::storage {
namespace {

struct Job {
  uint32_t shard = 0;
  RecordVisitor* visitor = nullptr;
  base::Result<ShardRecovery> result = base::Error{"not run"};
};

// Runs every job, on this thread and up to one more per online core.
void run_jobs(const std::string& data_dir, const RecoveryOptions& options, std::vector<Job>& jobs) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < jobs.size(); i = next.fetch_add(1))
      jobs[i].result = recover_shard(shard_dir(data_dir, jobs[i].shard), options, jobs[i].visitor);
  };
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  std::vector<std::thread> pool;
  for (long t = 1; t < std::min<long>(cores, static_cast<long>(jobs.size())); ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace

base::Result<DataDirRecovery> recover_all(const std::string& data_dir, uint32_t shards,
                                          const RecoveryOptions& options, const VisitorFor& visitor_for) {
  std::vector<uint32_t> dirs;
  if (const int rc = list_shards(data_dir, dirs); rc < 0)
    return base::Error{"cannot list " + data_dir + ": " + std::strerror(-rc)};
  std::vector<Job> jobs(dirs.size());
  for (size_t i = 0; i < dirs.size(); ++i) {
    jobs[i].shard = dirs[i];
    jobs[i].visitor = visitor_for ? visitor_for(dirs[i]) : nullptr;
  }
  const uint64_t start_ns = base::monotonic_ns();
  run_jobs(data_dir, options, jobs);
  DataDirRecovery out;
  out.scan_ns = base::monotonic_ns() - start_ns;
  out.positions.resize(shards);
  out.resumed.resize(shards);
  out.shard_dirs = static_cast<uint32_t>(dirs.size());
  for (const Job& j : jobs) {
    if (!j.result) return base::Error{j.result.error()};
    const ShardRecovery& sr = j.result.value();
    if (j.shard < shards) {
      out.positions[j.shard] = sr.position;
      out.resumed[j.shard] = sr.resumed;
    }
    out.records += sr.records;
    out.bytes_scanned += sr.bytes_scanned;
    out.torn_tails += sr.torn_tails;
    out.segments += sr.segments;
    out.summarised += sr.summarised;
    out.summaries_written += sr.summaries_written;
  }
  return out;
}

uint64_t data_dir_log_bytes(const std::string& data_dir) {
  std::vector<uint32_t> dirs;
  if (list_shards(data_dir, dirs) < 0) return 0;
  uint64_t total = 0;
  for (const uint32_t d : dirs) total += shard_log_bytes(shard_dir(data_dir, d));
  return total;
}

}  // namespace busyring::storage
