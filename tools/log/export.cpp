// busyring-log export DIR... [--format jsonl|csv] [--from-id N]: every record by id ascending.
// A shard's log is not sorted by id (holes are reissued later), so: pass 1 verifies every
// segment (damage exports nothing) and keeps 16 bytes per record (id, file << 40 | offset);
// pass 2 (export_output.h) sorts the index and reads each record back. Memory: 16 bytes per
// exported record (up to twice that while the index grows) and fixed read windows.
// With --since-checkpoint FILE the command is run_export_since (export_since.cpp).
#include <string>
#include <vector>

#include "body.h"
#include "commands.h"
#include "export_output.h"
#include "log_reader.h"
#include "progress.h"

namespace busyring::logtool {
namespace {

class Indexer final : public LogVisitor {
 public:
  Indexer(std::vector<IndexEntry>& entries, std::vector<FileRef>& files, uint64_t from_id)
      : entries_(entries), files_(files), from_id_(from_id) {}

  // The .log name: bodies are fetched by reopening it, which maps a compacted one decompressed.
  void on_segment_start(const std::string& path, const std::string&, const uint8_t*, size_t) override {
    files_.push_back(FileRef{path, 0});
  }
  bool on_record(const storage::RecordView& record, const RecordPlace& at) override {
    files_.back().shard = at.shard;
    if (!fits_location(files_.size() - 1, at.offset)) {
      too_large = true;
      return false;
    }
    if (record.id >= from_id_)
      entries_.push_back(IndexEntry{record.id, (files_.size() - 1) << kOffsetBits | at.offset});
    return true;
  }

  bool too_large = false;

 private:
  std::vector<IndexEntry>& entries_;
  std::vector<FileRef>& files_;
  uint64_t from_id_;
};

}  // namespace

int run_export(const Options& options, std::FILE* out, std::FILE* err) {
  if (!options.checkpoint.empty()) return run_export_since(options, out, err);
  std::vector<IndexEntry> entries;
  std::vector<FileRef> files;
  BodyParser bodies;
  ProgressLine progress(out, err, "export: reading", log_bytes(options.dirs), base::ProgressUnit::bytes);
  for (size_t i = 0; i < options.dirs.size(); ++i) {
    Indexer indexer(entries, files, options.from_id);
    ProgressVisitor watched(indexer, progress);
    auto totals = walk_log(options.dirs[i], static_cast<uint32_t>(i), watched, &bodies);
    progress.interrupt();
    if (!totals) {
      print_error(err, Command::export_records, totals.error());
      return 1;
    }
    if (indexer.too_large) {
      print_error(err, Command::export_records, options.dirs[i] + ": more than 2^24 segments or a segment over 1 TiB");
      return 1;
    }
    if (totals.value().damaged_segments > 0) {
      print_error(
          err, Command::export_records,
          totals.value().first_problem + "; nothing exported (see busyring-log verify " + options.dirs[i] + ")");
      return 1;
    }
  }
  progress.restart("export: writing", entries.size(), base::ProgressUnit::records);
  return write_records(entries, files, options.format, bodies, out, err, &progress);
}

}  // namespace busyring::logtool
