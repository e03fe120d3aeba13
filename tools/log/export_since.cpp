// busyring-log export DIR... --since-checkpoint FILE [--settle S]: the records FILE does not
// cover, by id, then the advanced checkpoint to FILE.next (never to FILE; `checkpoint commit`).
//
// New means "at or past the segment's mark": a byte offset per segment (checkpoint.h), never an
// id, since a reissued hole puts a low id after higher ones. Each unsealed segment is scanned
// whole (the skip markers that void stretches name absolute offsets, so a scan cannot start
// mid-file); a record before the mark is skipped, the mark itself must be the end of a record.
//
// The server may be writing while this runs, with up to --log-writes writes in flight per shard,
// and a later write may land before an earlier one. So a record is exported only once it
// arrived --settle seconds ago (by then every write before it has landed, or failed and been
// voided); the first younger record ends its segment's export for this run, and its mark stays
// in front of it. Seen live, and not damage: a corrupt stretch followed by a young record, or a
// torn segment followed by a segment whose first record is young (a write still landing).
// A segment is sealed, never scanned again (only its fingerprint and size are checked), once
// it ended clean with nothing held back and a later segment of its shard holds a settled
// record: the writer left it more than --settle seconds ago.
//
// Damage (as plain export: corruption, a non-segment, a non-JSON body) and a checkpoint that
// does not match the log both stop everything: one line, exit 1, nothing on stdout, no FILE.next.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "body.h"
#include "busyring/base/clock.h"
#include "busyring/storage/retired.h"
#include "busyring/storage/segment.h"
#include "checkpoint.h"
#include "commands.h"
#include "export_output.h"
#include "log_reader.h"

namespace busyring::logtool {
namespace {

struct Clock {
  uint64_t now_ns = 0;
  uint64_t cutoff_ns = 0;
  // Arrived within the settle time. An arrival after now (the clock was set back since) counts
  // as settled, so a clock step can delay an export but never stall it.
  bool young(uint64_t arrival_ns) const { return arrival_ns > cutoff_ns && arrival_ns <= now_ns; }
};

// One segment's records against its old mark: what to export, the new mark, the fingerprint.
class SinceVisitor final : public storage::RecordVisitor {
 public:
  SinceVisitor(uint64_t from, const Clock& clock, uint32_t file, BodyParser& bodies, std::vector<IndexEntry>& entries)
      : mark(from), from_(from), clock_(clock), file_(file), bodies_(bodies), entries_(entries) {}

  bool on_record(const storage::RecordView& r, uint64_t offset) override {
    if (records++ == 0) {
      first_id = r.id;
      first_arrival_ns = r.arrival_ns;
    }
    const bool young = clock_.young(r.arrival_ns);
    settled = settled || !young;
    if (offset + r.record_bytes == from_) mark_is_record_end = true;
    if (offset < from_) return true;  // exported by an earlier run; still scanned for damage
    if (held_back || young) {
      held_back = true;
      ++waiting;
      return true;
    }
    if (!fits_location(file_, offset)) {
      too_large = true;
      return false;
    }
    if (!bodies_.is_object(r.body, r.body_bytes) && bad_body_id == 0) {
      bad_body_id = r.id;
      bad_body_offset = offset;
    }
    entries_.push_back(IndexEntry{r.id, uint64_t{file_} << kOffsetBits | offset});
    ++exported;
    mark = offset + r.record_bytes;
    return true;
  }

  uint64_t mark;  // the new mark: end of the last record exported, else the old mark
  uint64_t records = 0;
  uint64_t exported = 0;
  uint64_t waiting = 0;  // past the mark but held back
  uint64_t first_id = 0;
  uint64_t first_arrival_ns = 0;
  bool settled = false;    // holds a record older than the settle time
  bool held_back = false;  // stopped at a young record
  bool mark_is_record_end = false;
  bool too_large = false;
  uint64_t bad_body_id = 0;
  uint64_t bad_body_offset = 0;

 private:
  uint64_t from_;
  const Clock& clock_;
  uint32_t file_;
  BodyParser& bodies_;
  std::vector<IndexEntry>& entries_;
};

// Stops at the first usage record: the fingerprint of a sealed segment.
class FirstRecord final : public storage::RecordVisitor {
 public:
  bool on_record(const storage::RecordView& r, uint64_t) override {
    id = r.id;
    arrival_ns = r.arrival_ns;
    return false;
  }
  uint64_t id = 0;
  uint64_t arrival_ns = 0;
};

// What a segment came to; problem non-empty stops the export.
struct SegmentOutcome {
  SegmentMark mark;
  bool settled = false;
  bool complete = false;  // clean end, nothing held back: sealable once a later segment settles
  bool torn = false;
  uint64_t torn_offset = 0;
  bool has_data = false;     // a record or a skip marker
  bool first_young = false;  // its first usage record is within the settle time
  bool held_back = false;
  std::string problem;
  bool mismatch = false;  // the problem is the checkpoint's, not the log's
};

struct ExportState {
  const Checkpoint& old;
  Clock clock;
  BodyParser bodies;
  std::vector<IndexEntry> entries;
  std::vector<FileRef> files;
  uint64_t waiting = 0;
};

const SegmentMark* find_mark(const Checkpoint& c, const SegmentMark& place) {
  const auto it = std::lower_bound(c.segments.begin(), c.segments.end(), place,
                                   [](const SegmentMark& a, const SegmentMark& b) { return a.before(b); });
  return it != c.segments.end() && it->same_place(place) ? &*it : nullptr;
}

std::string fingerprint_text(uint64_t id, uint64_t arrival_ns) {
  return id == 0 ? "no record" : "id " + std::to_string(id) + " (arrival_ns " + std::to_string(arrival_ns) + ")";
}

void set_mismatch(SegmentOutcome& o, std::string why) {
  o.problem = std::move(why);
  o.mismatch = true;
}

// A sealed segment: the same first record, and still as long as its mark.
void check_sealed(const std::string& path, const MappedFile& file, const SegmentMark& old, SegmentOutcome& o) {
  FirstRecord first;
  if (file.scan_bytes() > 0) (void)storage::scan_segment(file.data(), file.scan_bytes(), &first);
  o.mark = old;
  o.settled = old.first_id != 0;
  o.has_data = old.first_id != 0;
  o.complete = true;
  if (first.id != old.first_id || first.arrival_ns != old.first_arrival_ns)
    set_mismatch(o, path + " begins with " + fingerprint_text(first.id, first.arrival_ns) + ", the checkpoint says " +
                        fingerprint_text(old.first_id, old.first_arrival_ns));
  else if (old.offset > file.scan_bytes())
    set_mismatch(o, path + " is " + std::to_string(file.file_bytes()) +
                        " bytes, shorter than the checkpoint's offset " + std::to_string(old.offset));
}

// Damage as plain export sees it, except a corrupt stretch followed by a young record (a write
// still landing): then the segment is only incomplete.
void judge_damage(const SegmentReport& report, const MappedFile& file, const SinceVisitor& v, const Clock& clock,
                  SegmentOutcome& o) {
  const storage::SegmentScan& s = report.scan;
  if (report.damage == Damage::corrupt) {
    storage::RecordView next{};
    const bool decoded = storage::decode_record(file.data() + s.next_valid, file.scan_bytes() - s.next_valid, next) ==
                         storage::DecodeStatus::ok;
    if (decoded && next.kind == storage::RecordKind::usage && clock.young(next.arrival_ns)) {
      o.held_back = true;
      return;
    }
  }
  if (report.damage != Damage::none) {
    o.problem = report.problem;
  } else if (v.too_large) {
    o.problem = report.path + ": a segment over 1 TiB, or more than 2^24 segments";
  } else if (v.bad_body_id != 0) {
    o.problem = report.path + ": the body of id " + std::to_string(v.bad_body_id) + " at offset " +
                std::to_string(v.bad_body_offset) + " is not a JSON object";
  }
}

SegmentOutcome scan_open_segment(ExportState& st, const std::string& path, const MappedFile& file,
                                 const SegmentMark& place, const SegmentMark* old) {
  SegmentOutcome o;
  const auto file_number = static_cast<uint32_t>(st.files.size());
  st.files.push_back(FileRef{path, place.shard});
  SinceVisitor v(old != nullptr ? old->offset : 0, st.clock, file_number, st.bodies, st.entries);
  const SegmentReport report = check_segment(path, file, &v);
  o.mark = place;
  o.mark.offset = v.mark;
  o.mark.first_id = v.first_id;
  o.mark.first_arrival_ns = v.records > 0 ? v.first_arrival_ns : 0;
  o.settled = v.settled;
  o.has_data = v.records > 0 || report.scan.data_end > 0;
  o.first_young = v.records > 0 && st.clock.young(v.first_arrival_ns);
  o.held_back = v.held_back;
  st.waiting += v.waiting;
  o.torn = report.scan.end == storage::SegmentEnd::torn;
  o.torn_offset = report.scan.bad_offset;
  judge_damage(report, file, v, st.clock, o);
  if (old != nullptr && old->first_id != 0 &&
      (v.first_id != old->first_id || v.first_arrival_ns != old->first_arrival_ns))
    set_mismatch(o, path + " begins with " + fingerprint_text(v.first_id, v.first_arrival_ns) +
                        ", the checkpoint says " + fingerprint_text(old->first_id, old->first_arrival_ns));
  else if (old != nullptr && old->offset != 0 && !v.mark_is_record_end)
    set_mismatch(o, "the checkpoint's offset " + std::to_string(old->offset) + " in " + path +
                        " is not the end of a record there (past the data, or inside a record)");
  o.complete = o.problem.empty() && !o.torn && !o.held_back && report.scan.end == storage::SegmentEnd::clean;
  return o;
}

// Every segment of one shard, in order; appends their marks (sealed where they may be) to
// `marks`. False with *problem set (and *mismatch) at the first problem.
bool export_shard(ExportState& st, uint32_t dir, const ShardLog& shard, std::vector<SegmentMark>& marks,
                  std::string* problem, bool* mismatch) {
  std::vector<SegmentOutcome> outcomes;
  std::string torn_path;  // the last segment that ended torn
  uint64_t torn_offset = 0;
  for (const uint32_t index : shard.segments) {
    const SegmentMark place{dir, shard.shard, index, 0, 0, 0, false};
    const SegmentMark* old = find_mark(st.old, place);
    const std::string path = storage::segment_path(shard.dir, index);
    MappedFile file;
    SegmentOutcome o;
    if (const int rc = file.open(path); rc < 0) {
      o.problem = "cannot read " + path + ": " + (rc == -EINVAL ? "not a regular file" : std::strerror(-rc));
    } else if (old != nullptr && old->sealed) {
      check_sealed(path, file, *old, o);
    } else {
      o = scan_open_segment(st, path, file, place, old);
    }
    // Data after a torn segment: damage (recovery refuses it), unless a write is still landing.
    const bool after_torn = o.problem.empty() && !torn_path.empty() && o.has_data;
    if (after_torn && o.first_young) {
      o.complete = false;
    } else if (after_torn) {
      o.problem = path + " holds records after the torn tail of " + torn_path + " at offset " +
                  std::to_string(torn_offset) + ": the server refuses to start (run busyring-log salvage)";
    }
    if (o.torn) {
      torn_path = path;
      torn_offset = o.torn_offset;
    }
    if (!o.problem.empty()) {
      *problem = o.problem;
      *mismatch = o.mismatch;
      return false;
    }
    outcomes.push_back(std::move(o));
  }
  bool later_settled = false;
  for (size_t i = outcomes.size(); i-- > 0;) {
    outcomes[i].mark.sealed = outcomes[i].mark.sealed || (outcomes[i].complete && later_settled);
    later_settled = later_settled || outcomes[i].settled;
  }
  for (const SegmentOutcome& o : outcomes) marks.push_back(o.mark);
  return true;
}

// One line: the checkpoint does not match the log, and how to start over.
void refuse(std::FILE* err, const std::string& path, const std::string& why) {
  print_error(err, Command::export_records,
              path + " does not match the log: " + why +
                  "; nothing exported (if the log was replaced on purpose, remove " + path +
                  " to export everything again: the table's primary key keeps each record once)");
}

// Every segment the checkpoint names must still be there, unless it was sealed and `busyring-log
// retire` removed it (DIR/retired): its mark is then dropped. "" when they are.
std::string missing_marks(const Checkpoint& old, const std::vector<std::vector<ShardLog>>& logs,
                          const std::vector<std::string>& dirs, const std::vector<storage::RetiredLog>& retired) {
  for (const SegmentMark& m : old.segments) {
    if (m.sealed && static_cast<int64_t>(m.segment) <= retired[m.dir].through(m.shard)) continue;
    const auto& shards = logs[m.dir];
    const auto sh = std::find_if(shards.begin(), shards.end(), [&](const ShardLog& s) { return s.shard == m.shard; });
    const std::string name = storage::segment_path(storage::shard_dir(dirs[m.dir], m.shard), m.segment);
    if (sh == shards.end() || !std::binary_search(sh->segments.begin(), sh->segments.end(), m.segment))
      return "it names " + name + ", which the log does not have";
  }
  return "";
}

// Lists every DIR and checks the checkpoint against them; false after printing the problem.
bool open_logs(const Options& options, const Checkpoint& old, std::vector<std::vector<ShardLog>>& logs,
               std::FILE* err) {
  if (old.generation != 0 && old.dirs != options.dirs.size()) {
    refuse(err, options.checkpoint,
           "it was made for " + std::to_string(old.dirs) + " DIR(s), not " + std::to_string(options.dirs.size()));
    return false;
  }
  std::vector<storage::RetiredLog> retired;
  for (const std::string& dir : options.dirs) {
    auto log = open_log(dir);
    if (!log) {
      print_error(err, Command::export_records, log.error());
      return false;
    }
    logs.push_back(std::move(log.value()));
    auto gone = storage::load_retired(dir);
    if (!gone) {
      print_error(err, Command::export_records, gone.error());
      return false;
    }
    retired.push_back(std::move(gone.value()));
  }
  if (const std::string missing = missing_marks(old, logs, options.dirs, retired); !missing.empty()) {
    refuse(err, options.checkpoint, missing);
    return false;
  }
  return true;
}

}  // namespace

int run_export_since(const Options& options, std::FILE* out, std::FILE* err) {
  const std::string& path = options.checkpoint;
  auto old = load_checkpoint(path);
  if (!old) {
    print_error(err, Command::export_records, old.error() + "; nothing exported");
    return 1;
  }
  if (auto prepared = prepare_next(path); !prepared) {
    print_error(err, Command::export_records, prepared.error() + "; nothing exported");
    return 1;
  }
  std::vector<std::vector<ShardLog>> logs;
  if (!open_logs(options, old.value(), logs, err)) return 1;
  ExportState st{old.value(), {}, {}, {}, {}, 0};
  st.clock.now_ns = base::wall_ns();
  st.clock.cutoff_ns = st.clock.now_ns - std::min<uint64_t>(st.clock.now_ns, options.settle_s * 1'000'000'000ull);
  Checkpoint next;
  next.generation = old.value().generation + 1;
  next.base = old.value().generation;
  next.dirs = static_cast<uint32_t>(options.dirs.size());
  for (uint32_t d = 0; d < logs.size(); ++d) {
    for (const ShardLog& shard : logs[d]) {
      std::string problem;
      bool mismatch = false;
      if (export_shard(st, d, shard, next.segments, &problem, &mismatch)) continue;
      if (mismatch)
        refuse(err, path, problem);
      else
        print_error(err, Command::export_records,
                    problem + "; nothing exported (see busyring-log verify " + options.dirs[d] + ")");
      return 1;
    }
  }
  const size_t exported = st.entries.size();
  if (write_records(st.entries, st.files, options.format, st.bodies, out, err) != 0) return 1;
  if (auto written = write_next(path, next); !written) {
    print_error(err, Command::export_records, written.error() + "; the checkpoint did not advance");
    return 1;
  }
  std::fprintf(err,
               "busyring-log: export: %zu records since checkpoint generation %llu (%llu younger than --settle "
               "wait for the next run); %s is generation %llu: commit it once they are loaded\n",
               exported, static_cast<unsigned long long>(next.base), static_cast<unsigned long long>(st.waiting),
               next_path(path).c_str(), static_cast<unsigned long long>(next.generation));
  return 0;
}

}  // namespace busyring::logtool
