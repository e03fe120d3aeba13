// busyring: wires the modules. flags -> io_uring probe -> listeners bound -> data dir (lock,
// O_DIRECT) -> recovery (append positions, ids on disk) -> id source -> listen -> shards -> wait for
// SIGTERM/SIGINT/SIGQUIT (SIGHUP: logged, keeps serving). What each step does lives in its
// module; here is only the order.
#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "busyring/base/log.h"
#include "busyring/base/progress.h"
#include "busyring/base/version.h"
#include "busyring/config/flags.h"
#include "busyring/ids/block_source.h"
#include "busyring/ids/held_ranges.h"
#include "busyring/ids/id_recovery.h"
#include "busyring/ids/id_source.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/net/listener.h"
#include "busyring/net/ring.h"
#include "busyring/net/server.h"
#include "busyring/net/shared_tokens.h"
#include "busyring/storage/data_dir.h"
#include "busyring/storage/export_lag.h"
#include "busyring/storage/fault_hook.h"
#include "busyring/storage/log_size.h"
#include "busyring/storage/recover_all.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment_ledger.h"
#include "busyring/storage/segment_summary.h"

namespace {

using namespace busyring;

// Every record's id: one IdRecovery per shard directory (each filled by one scan thread),
// merged once the scan is done.
class IdScan {
 public:
  storage::RecordVisitor* visitor_for(uint32_t /*shard*/) {
    parts_.push_back(std::make_unique<Part>());
    return parts_.back().get();
  }
  // Once, after the scan: the first part is taken over rather than copied (its bitmap is one
  // bit per id of the whole log: tens of MB for a large one).
  ids::IdRecovery merged() {
    if (parts_.empty()) return ids::IdRecovery{};
    ids::IdRecovery all = std::move(parts_.front()->ids);
    for (size_t i = 1; i < parts_.size(); ++i) all.merge(parts_[i]->ids);
    return all;
  }

 private:
  struct Part final : storage::RecordVisitor {
    bool on_record(const storage::RecordView& record, uint64_t /*offset*/) override {
      ids.add(record.id);
      return true;
    }
    // A sealed segment's summary stands for its records: its spans hold every id it has.
    bool on_summary(const storage::SegmentSummary& summary) override {
      for (const storage::IdSpan& span : summary.ids) ids.add_range(span.first, span.end);
      ids.add_duplicates(summary.records - storage::span_ids(summary.ids));
      return true;
    }
    ids::IdRecovery ids;
  };
  std::vector<std::unique_ptr<Part>> parts_;
};

struct Recovered {
  storage::DataDirRecovery log;
  ids::IdRecovery ids;
  storage::LogInventory inventory;
};

// A data dir whose id high water is the local counter's was made by a server that keeps the
// segment ledger (it writes the ledger before the high water): without it, segments removed
// by hand could not be noticed, so its loss refuses the start. Older data dirs have neither.
base::Status check_ledger_kept(const std::string& data_dir, const storage::LogInventory& inventory) {
  if (inventory.ledger_existed) return base::ok_status();
  bool local = false;
  auto held = ids::load_held_ranges(ids::held_ranges_path(data_dir), &local);
  if (!held || !local) return base::ok_status();  // a damaged file is the id source's to report
  return base::Error{storage::ledger_path(data_dir) +
                     " is missing: it lists the segments busyring created, so that one removed by hand is "
                     "noticed; restore it from a backup (or, sure that no segment was removed, write one line "
                     "\"K N\" per shard-KK directory, N its highest seg-N.log)"};
}

// Recovery: every shard directory's log repaired and scanned, the ids on disk learnt. A long
// scan says how far it is every few seconds, in the log and in systemd's STATUS (which also
// extends the start-up timeout while the scan advances).
base::Result<Recovered> recover(const config::Config& config) {
  // First: no segment went missing (one that was neither retired nor is on disk may have held
  // acknowledged ids), before anything is scanned or written.
  auto inventory = storage::check_log_complete(config.data_dir);
  if (!inventory) return base::Error{inventory.error()};
  if (auto st = check_ledger_kept(config.data_dir, inventory.value()); !st) return base::Error{st.error()};
  IdScan id_scan;
  std::atomic<uint64_t> scanned{0};
  base::ProgressReporter progress("recovering the log", scanned, storage::data_dir_log_bytes(config.data_dir),
                                  base::ProgressUnit::bytes);
  // Damage the writes in flight at a crash could have left is voided (see storage/recovery.h).
  storage::RecoveryOptions options =
      storage::server_recovery_options(config.log_writes, config.max_body, config.ack == config::Ack::durable);
  options.scanned_bytes = &scanned;
  auto log = storage::recover_all(config.data_dir, config.threads, options,
                                  [&id_scan](uint32_t shard) { return id_scan.visitor_for(shard); });
  progress.stop();
  if (!log) return base::Error{log.error()};
  Recovered r{std::move(log.value()), id_scan.merged(), std::move(inventory.value())};
  // A shard never appends below a retired segment (its index is never used again).
  for (uint32_t k = 0; k < config.threads && k < r.inventory.first_writable.size(); ++k)
    if (r.log.positions[k].segment < r.inventory.first_writable[k])
      r.log.positions[k] = storage::AppendPosition{r.inventory.first_writable[k], 0};
  // The ledger, one line per shard again (the shards append to it as they create segments).
  if (auto st = storage::rewrite_ledger(config.data_dir, r.inventory.highest); !st) return base::Error{st.error()};
  if (r.ids.duplicates() > 0)
    BR_LOG_ERROR("recovery: %llu ids appear in more than one record (see busyring-log verify)",
                 static_cast<unsigned long long>(r.ids.duplicates()));
  return r;
}

uint64_t id_count(const std::vector<ids::IdRange>& ranges) {
  uint64_t n = 0;
  for (const ids::IdRange& r : ranges) n += r.size();
  return n;
}

// The recovery line: what the scan found and how fast, and what will be issued again.
void log_recovery(const Recovered& r, const ids::IdStart& id_start) {
  const double mib = static_cast<double>(r.log.bytes_scanned) / 1048576.0;
  const double seconds = static_cast<double>(r.log.scan_ns) / 1e9;
  BR_LOG_INFO("recovery: %llu records in %u shard dirs, %u of %u segments from their summaries, "
              "%.1f MiB scanned, in %.3f s (%.0f MiB/s), highest id %llu, %llu ids to reissue",
              static_cast<unsigned long long>(r.log.records), r.log.shard_dirs, r.log.summarised, r.log.segments,
              mib, seconds, seconds > 0 ? mib / seconds : 0.0, static_cast<unsigned long long>(r.ids.max_id()),
              static_cast<unsigned long long>(id_count(id_start.holes)));
  if (r.log.summaries_written > 0)
    BR_LOG_INFO("recovery: wrote the summaries of %u sealed segments that had none (the next start reads them)",
                r.log.summaries_written);
}

ids::IdSourceOptions id_source_options(const config::Config& c) {
  const config::IdSource& s = c.id_source;
  ids::IdSourceOptions o;
  o.data_dir = c.data_dir;
  o.kind = s.kind == config::IdSourceKind::etcd    ? ids::IdSourceKind::etcd
           : s.kind == config::IdSourceKind::redis ? ids::IdSourceKind::redis
                                                   : ids::IdSourceKind::local;
  o.redis = ids::RedisEndpoint{s.host, s.port, s.key, c.id_source_password_file};
  for (const config::IdSourceMember& m : s.members) o.etcd.members.push_back({m.host, m.port});
  o.etcd.prefix = s.key;
  o.etcd.password_file = c.id_source_password_file;
  o.etcd.ca_file = c.id_source_ca_file;
  o.etcd.cert_file = c.id_source_cert_file;
  o.etcd.key_file = c.id_source_key_file;
  o.reserve_ids = c.id_reserve;
  return o;
}

// Retired segments' id spans (inclusive) as the half-open ranges the id source takes.
std::vector<ids::IdRange> retired_ids(const storage::RetiredLog& retired) {
  std::vector<ids::IdRange> out;
  for (const storage::RetiredIds& r : retired.ids) out.push_back({r.first, r.last + 1});
  return out;
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

// The line that says what started: version, kernel, shards, data dir, ack, ids.
std::string banner(const config::Config& config, const Recovered& recovered, const ids::IdStart& id_start) {
  char ids_text[256];
  if (config.id_source.kind == config::IdSourceKind::redis)
    std::snprintf(ids_text, sizeof ids_text, "ids from redis %s:%u key %s (%llu held ids first)",
                  config.id_source.host.c_str(), config.id_source.port, config.id_source.key.c_str(),
                  static_cast<unsigned long long>(id_count(id_start.holes)));
  else if (config.id_source.kind == config::IdSourceKind::etcd)
    std::snprintf(ids_text, sizeof ids_text, "ids from etcd (%zu members named) prefix %s (%llu held ids first)",
                  config.id_source.members.size(), config.id_source.key.c_str(),
                  static_cast<unsigned long long>(id_count(id_start.holes)));
  else
    std::snprintf(ids_text, sizeof ids_text, "next id %llu",
                  static_cast<unsigned long long>(id_start.holes.empty()
                                                      ? std::max(id_start.first_fresh, recovered.ids.max_id() + 1)
                                                      : id_start.holes.front().first));
  utsname u{};
  uname(&u);
  char line[768];
  std::snprintf(line, sizeof line,
                "busyring %s: kernel %s, %u shards, data dir %s, --ack=%s%s, %llu records recovered, %s",
                base::version(), u.release, config.threads, config.data_dir.c_str(), config::ack_name(config.ack),
                config.ack == config::Ack::memory ? " (UNSAFE: a crash loses what was not yet written)" : "",
                static_cast<unsigned long long>(recovered.log.records), ids_text);
  return line;
}

// One setup per shard: its CPU, listener, append position, holes and metrics block.
net::ServerPlan make_plan(const config::Config& config, const net::Listeners& listeners, const Recovered& recovered,
                          const ids::IdStart& id_start, std::vector<std::unique_ptr<metrics::ShardMetrics>>& metrics) {
  auto dealt = ids::IdRecovery::deal(id_start.holes, config.threads, config.id_block);
  const std::vector<int> cpus = shard_cpus(config);
  net::ServerPlan plan;
  for (uint32_t k = 0; k < config.threads; ++k) {
    metrics.push_back(std::make_unique<metrics::ShardMetrics>());
    if (k == 0) metrics.back()->recovery_torn_tails.store(recovered.log.torn_tails, std::memory_order_relaxed);
    net::ShardSetup s;
    s.index = k;
    s.cpu = cpus[k];
    s.listen_fd = listeners.fds[k];
    s.position = recovered.log.positions[k];
    s.resumed = recovered.log.resumed[k];
    s.holes = std::move(dealt[k]);
    s.metrics = metrics.back().get();
    BR_LOG_DEBUG("shard %u: CPU %d, appending at segment %u offset %llu, %zu hole ranges to reissue", k, s.cpu,
                 s.position.segment, static_cast<unsigned long long>(s.position.offset), s.holes.size());
    plan.shards.push_back(std::move(s));
  }
  plan.port = listeners.port;
  plan.banner = banner(config, recovered, id_start);
  return plan;
}

// What clients reach: the token file and the sockets, opened before the data dir is touched.
struct Network {
  std::unique_ptr<net::SharedTokens> tokens;
  net::Listeners listeners;
  std::optional<net::Listeners> admin;
};

// The token file is read first: a missing or empty one is said before anything is bound or
// touched (the message names the file and the line, never a token). The addresses are then
// bound, not yet listened on: a port in use creates no dir and is said before a long recovery.
base::Result<Network> open_network(const config::Config& config) {
  Network n;
  if (!config.auth_token_file.empty()) {
    auto opened = net::SharedTokens::open(config.auth_token_file, config.threads);
    if (!opened) return base::Error{opened.error()};
    n.tokens = std::move(opened.value());
  }
  auto listeners = net::open_listeners(config.bind, config.port, config.threads, config.bind_ipv4_fallback);
  if (!listeners) return base::Error{listeners.error()};
  n.listeners = std::move(listeners.value());
  if (!config.admin_bind.empty()) {
    auto admin = net::open_listeners(config.admin_bind, config.admin_port, 1);
    if (!admin) return base::Error{"--admin-bind: " + admin.error()};
    n.admin = std::move(admin.value());
  }
  return n;
}

// Once recovery is done, both ports accept (until then a connection is refused, never left
// hanging), and the server takes over the sockets and the tokens.
base::Status start_network(Network& n, net::ServerPlan& plan) {
  if (auto st = net::start_listening(n.listeners); !st) return st;
  if (n.admin) {
    if (auto st = net::start_listening(*n.admin); !st) return base::Error{"--admin-bind: " + st.error()};
    plan.shards[0].admin_fd = n.admin->fds[0];  // the shard closes it
    plan.admin_where = n.admin->where;
  }
  plan.listen_where = n.listeners.where;
  plan.tokens = std::move(n.tokens);
  return base::ok_status();
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = config::parse_flags(argc, argv);
  if (!parsed) {
    base::print_fatal("%s", parsed.error().c_str());
    return 2;
  }
  if (parsed.value().outcome == config::ParseOutcome::help) {
    std::fputs(config::help_text().c_str(), stdout);
    return 0;
  }
  if (parsed.value().outcome == config::ParseOutcome::version) {
    std::fputs(base::version_text("busyring").c_str(), stdout);
    return 0;
  }
  const config::Config config = parsed.value().config;
  base::configure_log(config.log_format, config.log_level);
  net::block_stop_signals();  // before any thread starts: see net/server.h

  raise_nofile(config);
  if (auto probe = net::probe_io_uring(); !probe) {
    base::print_fatal("%s", probe.error().c_str());
    return 1;
  }
  auto network = open_network(config);
  if (!network) {
    base::print_fatal("%s", network.error().c_str());
    return 1;
  }
  if (auto dir = storage::open_data_dir(config.data_dir); !dir) {
    base::print_fatal("%s", dir.error().c_str());
    return 1;
  }
  storage::recovery_gate(network.value().listeners.where);  // busyring-faulty only: tests hold recovery here
  auto recovered = recover(config);
  if (!recovered) {
    base::print_fatal("%s", recovered.error().c_str());
    return 1;
  }
  ids::IdSourceOptions id_options = id_source_options(config);
  id_options.retired = retired_ids(recovered.value().inventory.retired);
  auto id_start = ids::open_id_source(id_options, recovered.value().ids);
  if (!id_start) {
    base::print_fatal("%s", id_start.error().c_str());
    return 1;
  }
  log_recovery(recovered.value(), id_start.value());
  std::vector<std::unique_ptr<metrics::ShardMetrics>> metrics_blocks;
  net::ServerPlan plan =
      make_plan(config, network.value().listeners, recovered.value(), id_start.value(), metrics_blocks);
  if (auto listening = start_network(network.value(), plan); !listening) {
    base::print_fatal("%s", listening.error().c_str());
    return 1;
  }
  std::vector<const metrics::ShardMetrics*> metrics_view;
  for (const auto& m : metrics_blocks) metrics_view.push_back(m.get());
  storage::LogSizeGauge log_size;  // measured from now on; POSTs stop at --max-log-size
  log_size.start(config.data_dir, config.max_log_size);
  plan.log_size = &log_size;
  storage::ExportLagGauge export_lag;  // --export-checkpoint: measured once a second
  if (!config.export_checkpoint.empty()) {
    export_lag.start(config.data_dir, config.export_checkpoint);
    plan.export_lag = &export_lag;
  }
  return net::run_server(config, *id_start.value().source, std::move(plan), metrics_view.data());
}
