// busyring-log retire DIR... --checkpoint FILE: deletes the sealed segments whose every record
// the committed checkpoint FILE covers (issue 17 §2). FILE is what `checkpoint commit` made
// after PostgreSQL committed the load, so nothing that is not in the table is ever deleted.
//
// A segment is retired only when all of these hold, per shard, in index order, stopping at the
// first that does not (the retired segments of a shard are always a prefix, 0..N):
//   - the checkpoint marks it sealed: it ended clean with nothing held back, and a later segment
//     of its shard held a record older than --settle when the export ran, so the server had left
//     it (the segment being written, and the prepared next one, are never sealed);
//   - a later segment of the shard is on disk;
//   - it still begins with the checkpoint's fingerprint (first id and arrival time), and no record
//     in it ends past the checkpoint's offset (scanned whole: every record was exported).
// Before anything is deleted, DATA_DIR/retired (storage/retired.h) records the segments and the
// span of their ids durably, so the server never takes them for lost, nor their ids for holes.
// Then the files are unlinked and the shard directory fsynced. Safe while the server runs: it
// never writes to a sealed segment again, and reads DATA_DIR/retired only when it starts. A
// crash between the two steps leaves retired segments on disk; the next run deletes them.
//
// A segment's summary (seg-N.summary, storage/segment_summary.h) goes right after the segment,
// never before: a crash between the two leaves a summary without its segment, which nothing
// reads (start-up and every tool go by the seg-N.log files; a summary never stands in for a
// missing segment) and which the next run removes with the other leftovers of retired segments.
// The other order would leave a retired segment without its summary, which the next start
// would scan in full and summarise again before the next run deleted it.
// On a terminal, a progress line counts the bytes of the segments read whole (progress.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "busyring/base/fs.h"
#include "busyring/storage/compact_segment.h"
#include "busyring/storage/retired.h"
#include "busyring/storage/segment.h"
#include "busyring/storage/segment_summary.h"
#include "checkpoint.h"
#include "commands.h"
#include "log_reader.h"
#include "progress.h"

namespace busyring::logtool {
namespace {

// Every usage record's id span and where the last one ends.
class SpanVisitor final : public storage::RecordVisitor {
 public:
  bool on_record(const storage::RecordView& r, uint64_t offset) override {
    if (records++ == 0) {
      first_id = r.id;
      first_arrival_ns = r.arrival_ns;
    }
    min_id = std::min(min_id, r.id);
    max_id = std::max(max_id, r.id);
    end = std::max(end, offset + r.record_bytes);
    return true;
  }
  uint64_t records = 0;
  uint64_t first_id = 0;
  uint64_t first_arrival_ns = 0;
  uint64_t min_id = UINT64_MAX;
  uint64_t max_id = 0;
  uint64_t end = 0;
};

struct Candidate {
  uint32_t shard = 0;
  uint32_t segment = 0;
  std::string path;
  uint64_t records = 0;
  uint64_t min_id = 0;
  uint64_t max_id = 0;
  const SegmentMark* mark = nullptr;  // null: retired by an earlier run, nothing to check
  uint64_t file_bytes = 0;            // what checking it reads (the progress line's unit)
};

const SegmentMark* find_mark(const Checkpoint& c, uint32_t dir, uint32_t shard, uint32_t segment) {
  const SegmentMark place{dir, shard, segment, 0, 0, 0, false};
  const auto it = std::lower_bound(c.segments.begin(), c.segments.end(), place,
                                   [](const SegmentMark& a, const SegmentMark& b) { return a.before(b); });
  return it != c.segments.end() && it->same_place(place) ? &*it : nullptr;
}

// Whether the segment may go; "" when it may, else why not (said only when it is surprising:
// a segment the checkpoint calls sealed that does not match it).
bool retirable(const std::string& path, const SegmentMark& mark, Candidate& c, std::string* problem) {
  MappedFile file;
  if (const int rc = file.open(path); rc < 0) {
    *problem = "cannot read " + path + ": " + std::strerror(-rc);
    return false;
  }
  SpanVisitor v;
  const SegmentReport report = check_segment(path, file, &v);
  if (report.damage != Damage::none) {
    *problem = report.problem;
    return false;
  }
  if (v.first_id != mark.first_id || (v.records > 0 && v.first_arrival_ns != mark.first_arrival_ns)) {
    *problem = path + " does not begin with the record the checkpoint names (id " + std::to_string(mark.first_id) +
               "): the checkpoint is not this log's; nothing retired";
    return false;
  }
  if (v.end > mark.offset) {
    *problem = path + " holds records past the checkpoint's offset " + std::to_string(mark.offset) +
               " (not exported yet); nothing retired";
    return false;
  }
  c.records = v.records;
  c.min_id = v.records > 0 ? v.min_id : 0;
  c.max_id = v.max_id;
  return true;
}

uint64_t size_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// The segments of one DIR that may go, shard by shard (each a prefix after what was retired),
// by the checkpoint's marks alone; check_candidates then reads each.
bool find_candidates(const std::string& data_dir, uint32_t dir, const Checkpoint& checkpoint,
                     const storage::RetiredLog& retired, std::vector<Candidate>& out, std::string* problem) {
  auto log = open_log(data_dir);
  if (!log) {
    *problem = log.error();
    return false;
  }
  for (const ShardLog& shard : log.value()) {
    const int64_t done = retired.through(shard.shard);
    int64_t expected = done + 1;  // the next segment that may go
    for (size_t i = 0; i + 1 < shard.segments.size(); ++i) {  // never the last one on disk
      const uint32_t index = shard.segments[i];
      if (static_cast<int64_t>(index) <= done) {
        out.push_back(Candidate{shard.shard, index, storage::segment_path(shard.dir, index), 0, 0, 0});
        continue;  // retired by an earlier run that stopped before deleting it
      }
      if (static_cast<int64_t>(index) != expected) break;  // a gap: the server refuses it; leave it be
      const SegmentMark* mark = find_mark(checkpoint, dir, shard.shard, index);
      if (mark == nullptr || !mark->sealed) break;
      Candidate c{shard.shard, index, storage::segment_path(shard.dir, index), 0, 0, 0, mark, 0};
      c.file_bytes = size_of(c.path);
      out.push_back(c);
      expected = index + 1;
    }
  }
  return true;
}

// Reads every candidate whole (retirable), advancing the progress line by its bytes.
bool check_candidates(std::vector<Candidate>& candidates, ProgressLine& progress, std::string* problem) {
  for (Candidate& c : candidates) {
    if (c.mark == nullptr) continue;
    if (!retirable(c.path, *c.mark, c, problem)) return false;
    progress.advance(c.file_bytes);
  }
  return true;
}

// One DIR's part of a run: its retired log and the segments that may go.
struct DirPlan {
  storage::RetiredLog retired;
  std::vector<Candidate> candidates;
};

// Records the candidates in DATA_DIR/retired, then deletes them; the count deleted.
base::Result<size_t> retire_dir(const std::string& data_dir, storage::RetiredLog& retired,
                                const std::vector<Candidate>& candidates) {
  for (const Candidate& c : candidates) {
    retired.retire_through(c.shard, c.segment);
    if (c.records > 0) retired.add_ids(c.min_id, c.max_id);
  }
  if (candidates.empty()) return size_t{0};
  if (auto saved = storage::save_retired(data_dir, retired); !saved) return base::Error{saved.error()};
  size_t removed = 0;
  std::vector<std::string> dirs;
  for (const Candidate& c : candidates) {
    const std::string dir = base::parent_dir(c.path);
    // Either form, and both (a compaction that stopped between rename and unlink).
    for (const std::string& path : {c.path, storage::compact_path(dir, c.segment)})
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return base::Error{"cannot remove " + path + ": " + std::strerror(errno)};
    ++removed;
    const std::string summary = storage::summary_path(dir, c.segment);  // after its segment: see the top
    if (::unlink(summary.c_str()) != 0 && errno != ENOENT)
      return base::Error{"cannot remove " + summary + ": " + std::strerror(errno)};
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  }
  for (const std::string& dir : dirs)
    if (const int rc = base::fsync_dir(dir); rc < 0)
      return base::Error{"cannot fsync " + dir + ": " + std::strerror(-rc)};
  return removed;
}

// The summaries of retired segments that are gone (a run that crashed between the two
// unlinks). Not fsynced: one that comes back after a crash is as harmless, and goes next time.
base::Status remove_leftover_summaries(const std::string& data_dir, const storage::RetiredLog& retired) {
  std::vector<uint32_t> summaries;
  for (const storage::RetiredShard& s : retired.shards) {
    const std::string dir = storage::shard_dir(data_dir, s.shard);
    if (storage::list_summaries(dir, summaries) < 0) continue;  // no such dir: nothing left
    for (const uint32_t index : summaries) {
      if (index > s.through || ::access(storage::segment_path(dir, index).c_str(), F_OK) == 0) continue;
      const std::string path = storage::summary_path(dir, index);
      if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return base::Error{"cannot remove " + path + ": " + std::strerror(errno)};
    }
  }
  return base::ok_status();
}

}  // namespace

int run_retire(const Options& options, std::FILE* out, std::FILE* err) {
  auto checkpoint = load_checkpoint(options.checkpoint);
  if (!checkpoint) {
    print_error(err, Command::retire, checkpoint.error() + "; nothing retired");
    return 1;
  }
  const Checkpoint& c = checkpoint.value();
  if (c.generation != 0 && c.dirs != options.dirs.size()) {
    print_error(err, Command::retire,
                options.checkpoint + " was made for " + std::to_string(c.dirs) + " DIR(s), not " +
                    std::to_string(options.dirs.size()) + " (give the DIRs in the export's order); nothing retired");
    return 1;
  }
  // First what the marks allow in every DIR (cheap), so the progress line knows its total;
  // then each DIR's candidates are read whole and deleted.
  std::vector<DirPlan> plans(options.dirs.size());
  uint64_t to_read = 0;
  for (uint32_t d = 0; d < options.dirs.size(); ++d) {
    const std::string& dir = options.dirs[d];
    auto retired = storage::load_retired(dir);
    if (!retired) {
      print_error(err, Command::retire, retired.error() + "; nothing retired");
      return 1;
    }
    plans[d].retired = std::move(retired.value());
    std::string problem;
    if (!find_candidates(dir, d, c, plans[d].retired, plans[d].candidates, &problem)) {
      print_error(err, Command::retire, problem);
      return 1;
    }
    for (const Candidate& candidate : plans[d].candidates)
      if (candidate.mark != nullptr) to_read += candidate.file_bytes;
  }
  ProgressLine progress(out, err, "retire", to_read, base::ProgressUnit::bytes);
  size_t total = 0;
  for (uint32_t d = 0; d < options.dirs.size(); ++d) {
    const std::string& dir = options.dirs[d];
    std::string problem;
    const bool checked = check_candidates(plans[d].candidates, progress, &problem);
    progress.interrupt();
    if (!checked) {
      print_error(err, Command::retire, problem);
      return 1;
    }
    auto removed = retire_dir(dir, plans[d].retired, plans[d].candidates);
    if (!removed) {
      print_error(err, Command::retire, removed.error());
      return 1;
    }
    if (auto swept = remove_leftover_summaries(dir, plans[d].retired); !swept) {
      print_error(err, Command::retire, swept.error());
      return 1;
    }
    total += removed.value();
    // A line per DIR that lost segments (load.sh's journal); a run that retires nothing is quiet.
    if (removed.value() > 0) std::fprintf(out, "%s: %zu segments retired\n", dir.c_str(), removed.value());
  }
  progress.finish();
  std::fprintf(err, "busyring-log: retire: %zu segments retired (checkpoint generation %llu)\n", total,
               static_cast<unsigned long long>(c.generation));
  return 0;
}

}  // namespace busyring::logtool
