// busyring: wires the modules. flags -> io_uring probe -> data dir lock -> recovery (ids and
// append positions) -> listeners -> shards -> wait for SIGTERM/SIGINT.
#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <atomic>
#include <thread>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "busyring/base/clock.h"
#include "busyring/base/log.h"
#include "busyring/config/flags.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/held_ranges.h"
#include "busyring/ids/id_recovery.h"
#include "busyring/ids/node_id.h"
#include "busyring/ids/redis_block_source.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/net/listener.h"
#include "busyring/net/ring.h"
#include "busyring/net/server.h"
#include "busyring/storage/recovery.h"
#include "busyring/storage/segment.h"

namespace {

using namespace busyring;

constexpr const char* kVersion = "0.1.0";

class IdVisitor final : public storage::RecordVisitor {
 public:
  explicit IdVisitor(ids::IdRecovery& ids) : ids_(ids) {}
  bool on_record(const storage::RecordView& record, uint64_t) override {
    ids_.add(record.id);
    return true;
  }

 private:
  ids::IdRecovery& ids_;
};

// Holds DATA_DIR/LOCK for the life of the process: a second server on the same dir refuses.
bool lock_data_dir(const std::string& dir) {
  const std::string path = dir + "/LOCK";
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    base::print_fatal("cannot create %s: %s (check --data-dir and its permissions)", path.c_str(), std::strerror(errno));
    return false;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    base::print_fatal("another busyring is using %s (%s is locked); stop it or choose another --data-dir",
                      dir.c_str(), path.c_str());
    return false;
  }
  return true;  // fd stays open on purpose
}

bool check_direct_io(const std::string& dir) {
  const std::string probe = dir + "/.direct-io-probe";
  const int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int e = errno;
    unlink(probe.c_str());
    if (e == EINVAL)
      base::print_fatal("the filesystem of %s does not support O_DIRECT (tmpfs?); use a --data-dir on ext4 or xfs", dir.c_str());
    else
      base::print_fatal("cannot write in %s: %s (check --data-dir and its permissions)", dir.c_str(), std::strerror(e));
    return false;
  }
  close(fd);
  unlink(probe.c_str());
  return true;
}

// Raises the open-file limit to what --max-connections needs (up to the hard limit), and says
// once if the hard limit caps it.
void raise_nofile(const config::Config& c) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t needed = static_cast<rlim_t>(c.max_connections) + 64 + 16 * c.threads;
  if (rl.rlim_cur >= needed) return;
  const rlim_t want = rl.rlim_max == RLIM_INFINITY ? needed : std::min(needed, rl.rlim_max);
  rlimit raised{want, rl.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl.rlim_cur = want;
  if (rl.rlim_cur < needed)
    BR_LOG_WARN("open-file limit %llu caps connections below --max-connections %u; raise it "
                "(ulimit -n, or LimitNOFILE= under systemd)",
                static_cast<unsigned long long>(rl.rlim_cur), c.max_connections);
}

std::vector<int> shard_cpus(const config::Config& c) {
  std::vector<int> cpus;
  if (!c.cpu_affinity) return std::vector<int>(c.threads, -1);
  if (!c.cpus.empty()) return std::vector<int>(c.cpus.begin(), c.cpus.begin() + c.threads);
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  std::vector<int> allowed;
  for (int i = 0; i < CPU_SETSIZE; ++i)
    if (CPU_ISSET(i, &set)) allowed.push_back(i);
  for (uint32_t k = 0; k < c.threads; ++k) cpus.push_back(allowed[k % allowed.size()]);
  return cpus;
}

// The id source --id-source asks for, and the holes this node issues first: with its own
// counter, the ids in [1, highest] that no record carries; with Redis, every id of the ranges
// it reserved (DATA_DIR/id-ranges) that no record carries. A data dir is one or the other.
base::Result<std::unique_ptr<ids::BlockSource>> make_id_source(const config::Config& config,
                                                               const ids::IdRecovery& recovered,
                                                               std::vector<ids::IdRange>& holes) {
  const std::string ranges_path = ids::held_ranges_path(config.data_dir);
  auto held = ids::load_held_ranges(ranges_path);
  if (!held) return base::Error{held.error()};
  std::vector<ids::IdRange>& ranges = held.value();
  if (!config.id_source.redis) {
    if (!ranges.empty())
      return base::Error{ranges_path + " shows this data dir took its ids from a shared counter: start it with "
                         "--id-source redis://... again (with its own counter it would issue ids other nodes hold)"};
    holes = recovered.holes();
    return std::unique_ptr<ids::BlockSource>(new ids::LocalBlockSource(recovered.max_id() + 1));
  }
  std::sort(ranges.begin(), ranges.end(), [](const ids::IdRange& a, const ids::IdRange& b) { return a.first < b.first; });
  if (recovered.count_within(ranges) != recovered.count())
    return base::Error{config.data_dir + " holds records whose ids were not reserved from Redis (written with "
                       "--id-source local?); a cluster node needs its own empty --data-dir, or run this one alone "
                       "with --id-source local"};
  holes = recovered.holes_within(ranges);
  uint64_t hole_ids = 0;
  for (const ids::IdRange& h : holes) hole_ids += h.size();
  const uint64_t held_end = std::max(ranges.empty() ? 1 : ranges.back().end, recovered.max_id() + 1);
  auto node_id = ids::load_or_create_node_id(config.data_dir);
  if (!node_id) return base::Error{node_id.error()};
  const config::IdSource& s = config.id_source;
  auto source = std::make_unique<ids::RedisBlockSource>(ids::RedisEndpoint{s.host, s.port, s.key}, node_id.value(),
                                                        ranges.empty() ? ids::IdRange{} : ranges.back(),
                                                        config.id_reserve, held_end, hole_ids);
  if (auto st = source->start(ranges_path); !st) return base::Error{st.error()};
  return std::unique_ptr<ids::BlockSource>(std::move(source));
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = config::parse_flags(argc, argv);
  if (!parsed) {
    base::print_fatal("%s", parsed.error().c_str());
    return 2;
  }
  if (parsed.value().outcome == config::ParseOutcome::help) {
    std::fputs(config::help_text(), stdout);
    return 0;
  }
  const config::Config config = parsed.value().config;

  raise_nofile(config);
  if (auto probe = net::probe_io_uring(); !probe) {
    base::print_fatal("%s", probe.error().c_str());
    return 1;
  }
  if (const int rc = storage::make_dirs(config.data_dir); rc < 0) {
    base::print_fatal("cannot create --data-dir %s: %s", config.data_dir.c_str(), std::strerror(-rc));
    return 1;
  }
  if (!lock_data_dir(config.data_dir) || !check_direct_io(config.data_dir)) return 1;

  // The port is taken before recovery, so "port in use" is said before a long scan.
  auto listeners = net::open_listeners(config.bind, config.port, config.threads);
  if (!listeners) {
    base::print_fatal("%s", listeners.error().c_str());
    return 1;
  }

  // Recovery: every shard directory, also those of an earlier run with more threads.
  ids::IdRecovery id_recovery;
  std::vector<uint32_t> dirs;
  if (const int rc = storage::list_shards(config.data_dir, dirs); rc < 0) {
    base::print_fatal("cannot list %s: %s", config.data_dir.c_str(), std::strerror(-rc));
    return 1;
  }
  // Shard directories are scanned in parallel (one thread per core), so reading one segment
  // overlaps checking another: recovery runs near disk speed.
  std::vector<storage::AppendPosition> positions(config.threads);
  uint64_t records = 0;
  const uint64_t scan_start = base::monotonic_ns();
  uint64_t scanned = 0;
  uint64_t torn_tails = 0;
  {
    struct Job {
      uint32_t shard;
      ids::IdRecovery ids;
      std::unique_ptr<IdVisitor> visitor;
      base::Result<storage::ShardRecovery> result = base::Error{"not run"};
    };
    std::vector<Job> jobs(dirs.size());
    for (size_t i = 0; i < dirs.size(); ++i) {
      jobs[i].shard = dirs[i];
      jobs[i].visitor = std::make_unique<IdVisitor>(jobs[i].ids);
    }
    std::atomic<size_t> next{0};
    // Damage the writes in flight at a crash could have left is voided (see storage/recovery.h).
    const storage::RecoveryOptions options =
        storage::server_recovery_options(config.log_writes, config.max_body, config.ack == config::Ack::durable);
    auto work = [&] {
      for (size_t i = next.fetch_add(1); i < jobs.size(); i = next.fetch_add(1))
        jobs[i].result = storage::recover_shard(storage::shard_dir(config.data_dir, jobs[i].shard), options,
                                                jobs[i].visitor.get());
    };
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    std::vector<std::thread> pool;
    for (long t = 1; t < std::min<long>(cores, static_cast<long>(jobs.size())); ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    for (Job& j : jobs) {
      if (!j.result) {
        base::print_fatal("%s", j.result.error().c_str());
        return 1;
      }
      if (j.shard < config.threads) positions[j.shard] = j.result.value().position;
      records += j.result.value().records;
      scanned += j.result.value().bytes_scanned;
      torn_tails += j.result.value().torn_tails;
      id_recovery.merge(j.ids);
    }
  }
  const double scan_s = static_cast<double>(base::monotonic_ns() - scan_start) / 1e9;
  if (id_recovery.duplicates() > 0)
    BR_LOG_ERROR("recovery: %llu ids appear in more than one record (see busyring-log verify)",
                 static_cast<unsigned long long>(id_recovery.duplicates()));
  std::vector<ids::IdRange> holes;
  auto source = make_id_source(config, id_recovery, holes);
  if (!source) {
    base::print_fatal("%s", source.error().c_str());
    return 1;
  }
  uint64_t hole_ids = 0;
  for (const auto& h : holes) hole_ids += h.size();
  BR_LOG_INFO("recovery: %llu records in %zu shard dirs, %.1f MiB scanned in %.3f s (%.0f MiB/s), "
              "highest id %llu, %llu ids to reissue",
              static_cast<unsigned long long>(records), dirs.size(), static_cast<double>(scanned) / 1048576.0,
              scan_s, scan_s > 0 ? static_cast<double>(scanned) / 1048576.0 / scan_s : 0.0,
              static_cast<unsigned long long>(id_recovery.max_id()), static_cast<unsigned long long>(hole_ids));
  auto dealt = ids::IdRecovery::deal(holes, config.threads, config.id_block);


  std::vector<std::unique_ptr<metrics::ShardMetrics>> metrics_blocks;
  std::vector<const metrics::ShardMetrics*> metrics_view;
  net::ServerPlan plan;
  const std::vector<int> cpus = shard_cpus(config);
  for (uint32_t k = 0; k < config.threads; ++k) {
    metrics_blocks.push_back(std::make_unique<metrics::ShardMetrics>());
    if (k == 0) metrics_blocks.back()->recovery_torn_tails.store(torn_tails, std::memory_order_relaxed);
    metrics_view.push_back(metrics_blocks.back().get());
    net::ShardSetup s;
    s.index = k;
    s.cpu = cpus[k];
    s.listen_fd = listeners.value().fds[k];
    s.position = positions[k];
    s.holes = std::move(dealt[k]);
    s.metrics = metrics_blocks.back().get();
    plan.shards.push_back(std::move(s));
  }
  plan.port = listeners.value().port;
  utsname u{};
  uname(&u);
  char ids_text[256];
  if (config.id_source.redis)
    std::snprintf(ids_text, sizeof ids_text, "ids from redis %s:%u key %s (%llu held ids first)",
                  config.id_source.host.c_str(), config.id_source.port, config.id_source.key.c_str(),
                  static_cast<unsigned long long>(hole_ids));
  else
    std::snprintf(ids_text, sizeof ids_text, "next id %llu",
                  static_cast<unsigned long long>(holes.empty() ? id_recovery.max_id() + 1 : holes.front().first));
  char banner[768];
  std::snprintf(banner, sizeof banner,
                "busyring %s: kernel %s, %u shards, data dir %s, --ack=%s%s, %llu records recovered, %s",
                kVersion, u.release, config.threads, config.data_dir.c_str(), config::ack_name(config.ack),
                config.ack == config::Ack::memory ? " (UNSAFE: a crash loses what was not yet written)" : "",
                static_cast<unsigned long long>(records), ids_text);
  plan.banner = banner;
  net::block_stop_signals();
  return net::run_server(config, *source.value(), std::move(plan), metrics_view.data());
}
