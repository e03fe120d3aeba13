// The id source of this start; see id_source.h.
#include "busyring/ids/id_source.h"

#include <algorithm>

#include "busyring/ids/held_ranges.h"
#include "busyring/ids/redis_credentials.h"
#include "etcd_range_store.h"
#include "node_id.h"
#include "redis_range_store.h"
#include "shared_block_source.h"

namespace busyring::ids {
namespace {

// The store --id-source names, its credential files read (a file that cannot be read, or does
// not hold what it must, stops the start).
base::Result<std::unique_ptr<RangeStore>> open_store(const IdSourceOptions& options, const std::string& node_id) {
  if (options.kind == IdSourceKind::etcd) {
    const EtcdEndpoint& e = options.etcd;
    std::vector<EtcdMember> members;
    for (const EtcdEndpoint::Member& m : e.members) members.push_back({m.host, m.port});
    auto settings = load_etcd_settings(std::move(members), e.password_file, e.ca_file, e.cert_file, e.key_file);
    if (!settings) return base::Error{settings.error()};
    return std::unique_ptr<RangeStore>(new EtcdRangeStore(std::move(settings.value()), e.prefix, node_id));
  }
  RedisCredentials credentials;
  if (!options.redis.password_file.empty()) {
    auto loaded = load_redis_credentials(options.redis.password_file);
    if (!loaded) return base::Error{loaded.error()};
    credentials = std::move(loaded.value());
  }
  return std::unique_ptr<RangeStore>(new RedisRangeStore(options.redis, node_id, std::move(credentials)));
}

base::Result<IdStart> open_shared(const IdSourceOptions& options, const IdRecovery& recovered,
                                  std::vector<IdRange>& ranges, const std::string& ranges_path) {
  std::sort(ranges.begin(), ranges.end(), [](const IdRange& a, const IdRange& b) { return a.first < b.first; });
  if (recovered.count_within(ranges) != recovered.count())
    return base::Error{options.data_dir + " holds records whose ids were not reserved from a shared counter "
                       "(written with --id-source local?); a cluster node needs its own empty --data-dir, or run "
                       "this one alone with --id-source local"};
  IdStart start;
  start.holes = recovered.holes_within(ranges);
  uint64_t hole_ids = 0;
  for (const IdRange& h : start.holes) hole_ids += h.size();
  const uint64_t held_end = std::max(ranges.empty() ? 1 : ranges.back().end, recovered.max_id() + 1);
  auto node_id = load_or_create_node_id(options.data_dir);
  if (!node_id) return base::Error{node_id.error()};
  auto store = open_store(options, node_id.value());
  if (!store) return base::Error{store.error()};
  auto source = std::make_unique<SharedBlockSource>(std::move(store.value()),
                                                    ranges.empty() ? IdRange{} : ranges.back(), options.reserve_ids,
                                                    held_end, hole_ids);
  if (auto st = source->start(ranges_path); !st) return base::Error{st.error()};
  start.source = std::move(source);
  return start;
}

}  // namespace

base::Result<IdStart> open_id_source(const IdSourceOptions& options, const IdRecovery& recovered) {
  const std::string ranges_path = held_ranges_path(options.data_dir);
  auto held = load_held_ranges(ranges_path);
  if (!held) return base::Error{held.error()};
  if (options.kind != IdSourceKind::local) return open_shared(options, recovered, held.value(), ranges_path);
  if (!held.value().empty())
    return base::Error{ranges_path + " shows this data dir took its ids from a shared counter: start it with "
                       "--id-source redis://... or etcd://... again (with its own counter it would issue ids "
                       "other nodes hold)"};
  IdStart start;
  start.holes = recovered.holes();
  start.source = std::make_unique<LocalBlockSource>(recovered.max_id() + 1);
  return start;
}

}  // namespace busyring::ids
