// busyring-log stats DIR... [--json]: records, bytes, highest id, density (records / max id),
// holes in [1, max id] as ranges (the first 20, then a count), the ids of retired segments
// (DATA_DIR/retired: exported and deleted, not holes), duplicate ids (must be 0) and records
// per shard. Memory: 8 bytes per record (the ids, sorted once). A damaged log is
// counted as far as it reads, said on stderr, and exits 1; so do duplicates.
// Over the dirs of a cluster's nodes it also says the least value a shared id counter (Redis)
// may hold: the highest id any node wrote or reserved (their DATA_DIR/id-ranges files).
#include <algorithm>
#include <string>
#include <vector>

#include "busyring/ids/held_ranges.h"
#include "busyring/storage/retired.h"
#include "commands.h"
#include "format.h"
#include "holes.h"
#include "log_reader.h"

namespace busyring::logtool {
namespace {

constexpr size_t kRangesShown = 20;

struct ShardCount {
  std::string dir;
  uint32_t dir_index = 0;
  uint32_t shard = 0;
  uint64_t records = 0;
};

class IdCollector final : public LogVisitor {
 public:
  IdCollector(std::vector<uint64_t>& ids, std::vector<ShardCount>& shards, const std::string& dir, uint32_t dir_index)
      : ids_(ids), shards_(shards), dir_(dir), dir_index_(dir_index) {}

  bool on_record(const storage::RecordView& r, const RecordPlace& at) override {
    ids_.push_back(r.id);
    shard(at.shard).records++;
    return true;
  }
  void on_segment(const SegmentReport& r) override { (void)shard(r.shard); }

 private:
  ShardCount& shard(uint32_t index) {
    if (shards_.empty() || shards_.back().dir_index != dir_index_ || shards_.back().shard != index)
      shards_.push_back(ShardCount{dir_, dir_index_, index, 0});
    return shards_.back();
  }

  std::vector<uint64_t>& ids_;
  std::vector<ShardCount>& shards_;
  const std::string& dir_;
  uint32_t dir_index_;
};

std::string range_text(const IdRange& r) {
  return r.first == r.last ? std::to_string(r.first) : std::to_string(r.first) + "-" + std::to_string(r.last);
}

std::string shard_name(const ShardCount& s, bool with_dir) {
  char name[32];
  std::snprintf(name, sizeof name, "shard-%02u", s.shard);
  return with_dir ? s.dir + "/" + name : std::string(name);
}

void print_text(std::FILE* out, const IdSummary& ids, uint64_t bytes, uint64_t counter_min,
                const std::vector<ShardCount>& shards, bool with_dir) {
  std::fprintf(out, "records        %llu\n", static_cast<unsigned long long>(ids.records));
  std::fprintf(out, "bytes          %llu\n", static_cast<unsigned long long>(bytes));
  std::fprintf(out, "max id         %llu\n", static_cast<unsigned long long>(ids.max_id));
  std::fprintf(out, "density        %.6f\n", density(ids));
  std::string holes = std::to_string(ids.hole_ids) + " ids in " + std::to_string(ids.hole_ranges) + " ranges";
  for (size_t i = 0; i < ids.holes.size(); ++i) holes += (i == 0 ? ": " : ", ") + range_text(ids.holes[i]);
  if (ids.hole_ranges > ids.holes.size())
    holes += ", and " + std::to_string(ids.hole_ranges - ids.holes.size()) + " more ranges";
  std::fprintf(out, "holes          %s\n", holes.c_str());
  std::fprintf(out, "retired        %llu ids (exported, deleted by busyring-log retire; never issued again)\n",
               static_cast<unsigned long long>(ids.retired_ids));
  std::fprintf(out, "duplicate ids  %llu\n", static_cast<unsigned long long>(ids.duplicates));
  std::fprintf(out, "id counter     %llu (the least value for a shared id counter: redis-cli SET KEY %llu)\n",
               static_cast<unsigned long long>(counter_min), static_cast<unsigned long long>(counter_min));
  for (const ShardCount& s : shards)
    std::fprintf(out, "%-14s %llu records\n", shard_name(s, with_dir).c_str(),
                 static_cast<unsigned long long>(s.records));
}

void print_json(std::FILE* out, const IdSummary& ids, uint64_t bytes, uint64_t counter_min,
                const std::vector<ShardCount>& shards) {
  std::string j = "{\"records\":";
  append_u64(j, ids.records);
  j += ",\"bytes\":";
  append_u64(j, bytes);
  j += ",\"max_id\":";
  append_u64(j, ids.max_id);
  char d[32];
  std::snprintf(d, sizeof d, "%.6f", density(ids));
  j += ",\"density\":";
  j += d;
  j += ",\"holes\":{\"ids\":";
  append_u64(j, ids.hole_ids);
  j += ",\"ranges\":";
  append_u64(j, ids.hole_ranges);
  j += ",\"first_ranges\":[";
  for (size_t i = 0; i < ids.holes.size(); ++i) {
    j += i == 0 ? "[" : ",[";
    append_u64(j, ids.holes[i].first);
    j += ",";
    append_u64(j, ids.holes[i].last);
    j += "]";
  }
  j += "]},\"retired_ids\":";
  append_u64(j, ids.retired_ids);
  j += ",\"duplicate_ids\":";
  append_u64(j, ids.duplicates);
  j += ",\"id_counter_min\":";
  append_u64(j, counter_min);
  j += ",\"shards\":[";
  for (size_t i = 0; i < shards.size(); ++i) {
    j += i == 0 ? "{\"dir\":" : ",{\"dir\":";
    append_json_string(j, shards[i].dir);
    j += ",\"shard\":";
    append_u64(j, shards[i].shard);
    j += ",\"records\":";
    append_u64(j, shards[i].records);
    j += "}";
  }
  j += "]}\n";
  std::fputs(j.c_str(), out);
}

}  // namespace

int run_stats(const Options& options, std::FILE* out, std::FILE* err) {
  std::vector<uint64_t> ids;
  std::vector<ShardCount> shards;
  uint64_t bytes = 0;
  uint64_t damaged = 0;
  uint64_t held_max = 0;
  storage::RetiredLog retired;  // every dir's spans, merged
  for (size_t i = 0; i < options.dirs.size(); ++i) {
    IdCollector collector(ids, shards, options.dirs[i], static_cast<uint32_t>(i));
    auto totals = walk_log(options.dirs[i], static_cast<uint32_t>(i), collector, nullptr);
    if (!totals) {
      print_error(err, Command::stats, totals.error());
      return 1;
    }
    auto held = ids::load_held_ranges(ids::held_ranges_path(options.dirs[i]));
    if (!held) {
      print_error(err, Command::stats, held.error());
      return 1;
    }
    for (const auto& r : held.value()) held_max = std::max(held_max, r.end - 1);
    auto dir_retired = storage::load_retired(options.dirs[i]);
    if (!dir_retired) {
      print_error(err, Command::stats, dir_retired.error());
      return 1;
    }
    for (const storage::RetiredIds& span : dir_retired.value().ids) retired.add_ids(span.first, span.last);
    bytes += totals.value().record_bytes;
    damaged += totals.value().damaged_segments;
    if (totals.value().damaged_segments > 0)
      print_error(err, Command::stats,
                  totals.value().first_problem + " (counted up to the damage; see busyring-log verify)");
  }
  std::vector<IdRange> retired_spans;
  for (const storage::RetiredIds& span : retired.ids) retired_spans.push_back(IdRange{span.first, span.last});
  const IdSummary summary = summarize_ids(ids, kRangesShown, retired_spans);
  const uint64_t counter_min = std::max(held_max, summary.max_id);
  if (options.json) {
    print_json(out, summary, bytes, counter_min, shards);
  } else {
    print_text(out, summary, bytes, counter_min, shards, options.dirs.size() > 1);
  }
  if (summary.duplicates > 0)
    print_error(err, Command::stats,
                std::to_string(summary.duplicates) + " records carry an id that another record has");
  return damaged == 0 && summary.duplicates == 0 ? 0 : 1;
}

}  // namespace busyring::logtool
