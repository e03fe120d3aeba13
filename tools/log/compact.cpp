// busyring-log compact DIR...: rewrites the sealed segments of each data dir as compacted
// segments (issue 17 §6; compactor.h has the protocol, the sealed rule and what a crash
// leaves). Safe while the server runs: it touches only segments the server has left, and
// every reader (the server's start-up included) reads either form. One compaction per shard
// directory at a time: a second run finds the directory locked (flock) and passes it by.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "busyring/base/clock.h"
#include "busyring/storage/retired.h"
#include "busyring/storage/segment.h"
#include "commands.h"
#include "compactor.h"

namespace busyring::logtool {
namespace {

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Holds an exclusive flock on a shard directory for one compaction (RAII); fd < 0 when another
// compaction holds it.
class ShardLock {
 public:
  explicit ShardLock(const std::string& dir) : fd_(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    if (fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      error_ = errno;
      ::close(fd_);
      fd_ = -1;
    } else if (fd_ < 0) {
      error_ = errno;
    }
  }
  ~ShardLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  ShardLock(const ShardLock&) = delete;
  ShardLock& operator=(const ShardLock&) = delete;
  bool held() const { return fd_ >= 0; }
  int error() const { return error_; }

 private:
  int fd_;
  int error_ = 0;
};

// Compacts every shard directory of one data dir; false (with err written) on a failure.
bool compact_dir(const Options& options, const std::string& data_dir, CompactTotals& totals, std::FILE* err) {
  auto retired = storage::load_retired(data_dir);
  if (!retired) {
    print_error(err, Command::compact, retired.error() + "; nothing compacted");
    return false;
  }
  std::vector<uint32_t> shards;
  if (const int rc = storage::list_shards(data_dir, shards); rc < 0) {
    print_error(err, Command::compact, "cannot list " + data_dir + ": " + std::strerror(-rc));
    return false;
  }
  const uint64_t now = realtime_ns();
  for (const uint32_t k : shards) {
    const std::string dir = storage::shard_dir(data_dir, k);
    ShardLock lock(dir);
    if (!lock.held()) {
      if (lock.error() == EWOULDBLOCK) {
        std::fprintf(err, "busyring-log: compact: %s is being compacted by another run; passed by\n", dir.c_str());
        continue;
      }
      print_error(err, Command::compact, "cannot open " + dir + ": " + std::strerror(lock.error()));
      return false;
    }
    CompactOptions o;
    o.settle_ns = options.settle_s * 1'000'000'000ull;
    o.retired_through = retired.value().through(k);
    auto st = compact_leftovers(dir, totals);
    if (st) st = compact_shard(dir, now, o, totals);
    if (!st) {
      print_error(err, Command::compact, st.error());
      return false;
    }
  }
  return true;
}

}  // namespace

int run_compact(const Options& options, std::FILE* out, std::FILE* err) {
  CompactTotals all;
  for (const std::string& dir : options.dirs) {
    CompactTotals totals;
    if (!compact_dir(options, dir, totals, err)) return 1;
    if (totals.compacted > 0) {
      std::fprintf(out, "%s: %u segments compacted, %llu bytes to %llu (%llu records, %.1f bytes a record)\n",
                   dir.c_str(), totals.compacted, static_cast<unsigned long long>(totals.bytes_before),
                   static_cast<unsigned long long>(totals.bytes_after), static_cast<unsigned long long>(totals.records),
                   totals.records > 0 ? static_cast<double>(totals.bytes_after) / static_cast<double>(totals.records) : 0.0);
    }
    if (totals.finished + totals.redone + totals.tmp_removed > 0)
      std::fprintf(out, "%s: an earlier compaction's leftovers: %u finished, %u redone, %u unfinished copies removed\n",
                   dir.c_str(), totals.finished, totals.redone, totals.tmp_removed);
    if (totals.skipped_damaged > 0 && all.skipped_damaged == 0) all.first_problem = totals.first_problem;
    all.compacted += totals.compacted;
    all.skipped_damaged += totals.skipped_damaged;
  }
  std::fprintf(err, "busyring-log: compact: %u segments compacted\n", all.compacted);
  if (all.skipped_damaged > 0) {
    print_error(err, Command::compact,
                std::to_string(all.skipped_damaged) + " sealed segment(s) left as they are: " + all.first_problem);
    return 1;
  }
  return 0;
}

}  // namespace busyring::logtool
