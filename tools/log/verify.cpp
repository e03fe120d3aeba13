// busyring-log verify DIR: one line per segment (records, bytes, first/last id in log order,
// how it ends), one per shard, one in total; every damaged segment also gets a line on
// stderr. A torn tail alone is not damage: recovery voids it, and none of it was acknowledged.
// A sealed segment's summary (start-up reads it instead of the segment) is checked against the
// records: one that disagrees is reported and makes the exit status 1; an invalid one is only
// noted (start-up ignores it and scans the segment).
#include <algorithm>
#include <string>

#include "busyring/base/fs.h"
#include "busyring/storage/segment_summary.h"
#include "commands.h"
#include "log_reader.h"
#include "progress.h"

namespace busyring::logtool {
namespace {

struct ShardTotals {
  uint32_t shard = 0;
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t min_id = UINT64_MAX;
  uint64_t max_id = 0;
  uint64_t damaged = 0;
};

std::string damaged_text(uint64_t n) {
  return std::to_string(n) + (n == 1 ? " damaged segment" : " damaged segments");
}

std::string describe(const storage::SegmentSummary& s) {
  std::string t = std::to_string(s.records) + " records, " + std::to_string(s.record_bytes) + " bytes, end " +
                  std::to_string(s.records_end) + ", " + std::to_string(s.ids.size()) + " id spans";
  if (!s.ids.empty()) t += " " + std::to_string(s.ids.front().first) + ".." + std::to_string(s.ids.back().end - 1);
  return t;
}

std::string ending(const SegmentReport& r) {
  const storage::SegmentScan& s = r.scan;
  switch (r.damage) {
    case Damage::none:
    case Damage::bad_body:
    case Damage::torn_before_records: break;
    default: return "DAMAGED: " + r.problem;
  }
  std::string e;
  if (s.end == storage::SegmentEnd::torn) {
    e = "torn tail at offset " + std::to_string(s.bad_offset) + " (" + storage::decode_status_name(s.bad_status) +
        ", " + std::to_string(s.torn_end - s.bad_offset) + " bytes; recovery voids them)";
  } else {
    e = "clean";
  }
  if (r.damage != Damage::none) e += "; DAMAGED: " + r.problem;
  return e;
}

class VerifyPrinter final : public LogVisitor {
 public:
  VerifyPrinter(std::FILE* out, std::FILE* err) : out_(out), err_(err) {}

  void on_segment(const SegmentReport& r) override {
    const storage::SegmentScan& s = r.scan;
    std::string line =
        r.path + ": " + std::to_string(s.records) + " records, " + std::to_string(s.record_bytes) + " bytes";
    if (s.records > 0) line += ", ids " + std::to_string(s.first_id) + ".." + std::to_string(s.last_id);
    line += ", " + ending(r);
    const std::string mismatch = check_summary(r, line);
    std::fprintf(out_, "%s\n", line.c_str());
    if (r.damage != Damage::none) print_error(err_, Command::verify, r.problem);
    if (!mismatch.empty()) print_error(err_, Command::verify, mismatch);
    if (shards.empty() || shards.back().shard != r.shard) shards.push_back(ShardTotals{r.shard});
    ShardTotals& t = shards.back();
    ++t.segments;
    t.records += s.records;
    t.bytes += s.record_bytes;
    if (r.damage != Damage::none) ++t.damaged;
    t.min_id = std::min(t.min_id, min_id_);
    t.max_id = std::max(t.max_id, max_id_);
    min_id_ = UINT64_MAX;
    max_id_ = 0;
  }
  // The shard's id range: every record counts (a shard's log is not sorted by id).
  void on_segment_start(const std::string&, const std::string&, const uint8_t*, size_t) override { built_.reset(0); }
  bool on_record(const storage::RecordView& record, const RecordPlace& at) override {
    built_.add(record.id, at.offset, record.record_bytes);
    min_id_ = std::min(min_id_, record.id);
    max_id_ = std::max(max_id_, record.id);
    return true;
  }
  std::vector<ShardTotals> shards;
  uint64_t summary_mismatches = 0;

 private:
  // Notes the segment's summary on its line; a summary that disagrees with the records is a
  // problem (start-up trusts it): returned as the sentence for stderr.
  std::string check_summary(const SegmentReport& r, std::string& line) {
    const std::string dir = base::parent_dir(r.path);
    storage::SegmentSummary found;
    std::string why;
    switch (storage::read_summary(dir, r.segment, found, why)) {
      case storage::SummaryRead::missing: return "";
      case storage::SummaryRead::invalid:
        line += ", summary invalid (" + why + "; start-up scans this segment)";
        return "";
      case storage::SummaryRead::ok: break;
    }
    if (r.damage != Damage::none && r.damage != Damage::bad_body) {
      line += ", summary not checked (damaged segment)";
      return "";
    }
    storage::SegmentSummary scanned = built_.finish();
    scanned.segment = r.segment;
    if (scanned == found) {
      line += ", summary ok";
      return "";
    }
    ++summary_mismatches;
    line += ", SUMMARY MISMATCH";
    return storage::summary_path(dir, r.segment) + " disagrees with the records of " + r.path + " (summary: " +
           describe(found) + "; records: " + describe(scanned) +
           "): start-up trusts it; remove it and restart (the segment is then scanned and summarised again)";
  }

  std::FILE* out_;
  std::FILE* err_;
  uint64_t min_id_ = UINT64_MAX;
  uint64_t max_id_ = 0;
  storage::SummaryBuilder built_;
};

}  // namespace

int run_verify(const Options& options, std::FILE* out, std::FILE* err) {
  const std::string& dir = options.dirs.front();
  VerifyPrinter printer(out, err);
  BodyParser bodies;
  ProgressLine progress(out, err, "verify", log_bytes({dir}), base::ProgressUnit::bytes);
  ProgressVisitor watched(printer, progress);
  auto totals = walk_log(dir, 0, watched, &bodies);
  progress.finish();
  if (!totals) {
    print_error(err, Command::verify, totals.error());
    return 1;
  }
  for (const ShardTotals& t : printer.shards) {
    char name[32];
    std::snprintf(name, sizeof name, "shard-%02u", t.shard);
    std::string line = std::string(name) + ": " + std::to_string(t.segments) + " segments, " +
                       std::to_string(t.records) + " records, " + std::to_string(t.bytes) + " bytes";
    if (t.records > 0) line += ", ids " + std::to_string(t.min_id) + ".." + std::to_string(t.max_id);
    line += t.damaged > 0 ? ", " + damaged_text(t.damaged) : ", ok";
    std::fprintf(out, "%s\n", line.c_str());
  }
  const WalkTotals& w = totals.value();
  std::fprintf(out, "%s: %zu shards, %llu segments, %llu records, %llu bytes: %s\n", dir.c_str(), printer.shards.size(),
               static_cast<unsigned long long>(w.segments), static_cast<unsigned long long>(w.records),
               static_cast<unsigned long long>(w.record_bytes),
               w.damaged_segments == 0 ? "ok" : damaged_text(w.damaged_segments).c_str());
  if (printer.summary_mismatches > 0)
    std::fprintf(out, "%s: %llu segment summaries disagree with their records\n", dir.c_str(),
                 static_cast<unsigned long long>(printer.summary_mismatches));
  return w.damaged_segments == 0 && printer.summary_mismatches == 0 ? 0 : 1;
}

}  // namespace busyring::logtool
