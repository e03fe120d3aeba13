// busyring-log export DIR... [--format jsonl|csv] [--from-id N]: every record by id ascending.
// A shard's log is not sorted by id (holes are reissued later), so: pass 1 verifies every
// segment (damage exports nothing) and keeps 16 bytes per record (id, file << 40 | offset);
// the index is sorted; pass 2 reads each record back through a RecordFetcher. Memory: 16
// bytes per exported record (up to twice that while the index grows) and fixed read windows.
#include <algorithm>
#include <string>
#include <vector>

#include "body.h"
#include "commands.h"
#include "format.h"
#include "log_reader.h"
#include "record_fetch.h"

namespace busyring::logtool {
namespace {

constexpr uint64_t kOffsetBits = 40;  // 1 TiB per segment
constexpr uint64_t kMaxFiles = 1ull << 24;

struct IndexEntry {
  uint64_t id;
  uint64_t location;  // file number << kOffsetBits | offset
  bool operator<(const IndexEntry& o) const { return id != o.id ? id < o.id : location < o.location; }
};
static_assert(sizeof(IndexEntry) == 16);

struct FileRef {
  std::string path;
  uint32_t shard = 0;
};

class Indexer final : public LogVisitor {
 public:
  Indexer(std::vector<IndexEntry>& entries, std::vector<FileRef>& files, uint64_t from_id)
      : entries_(entries), files_(files), from_id_(from_id) {}

  void on_segment_start(const std::string& path, const uint8_t*, size_t) override {
    files_.push_back(FileRef{path, 0});
  }
  bool on_record(const storage::RecordView& record, const RecordPlace& at) override {
    files_.back().shard = at.shard;
    if (files_.size() > kMaxFiles || at.offset >> kOffsetBits != 0) {
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

// Writes buffered lines; false once stdout failed.
bool flush(std::string& buf, std::FILE* out) {
  const bool ok = buf.empty() || std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
  buf.clear();
  return ok;
}

}  // namespace

int run_export(const Options& options, std::FILE* out, std::FILE* err) {
  std::vector<IndexEntry> entries;
  std::vector<FileRef> files;
  BodyParser bodies;
  for (size_t i = 0; i < options.dirs.size(); ++i) {
    Indexer indexer(entries, files, options.from_id);
    auto totals = walk_log(options.dirs[i], static_cast<uint32_t>(i), indexer, &bodies);
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
  std::sort(entries.begin(), entries.end());

  RecordFetcher fetcher;
  UsageFields fields;
  std::string buf;
  std::string error;
  bool written = true;
  if (options.format == Format::csv) buf.append(kCsvHeader);
  for (const IndexEntry& e : entries) {
    const auto file = static_cast<uint32_t>(e.location >> kOffsetBits);
    const uint64_t offset = e.location & ((1ull << kOffsetBits) - 1);
    const FileRef& ref = files[file];
    storage::RecordView r{};
    if (!fetcher.fetch(file, ref.path, offset, r, &error)) {
      flush(buf, out);
      print_error(err, Command::export_records, error + "; export stopped before id " + std::to_string(e.id));
      return 1;
    }
    const std::string_view body(reinterpret_cast<const char*>(r.body), r.body_bytes);
    if (options.format == Format::jsonl) {
      append_jsonl_line(buf, r.id, ref.shard, r.arrival_ns, body);
    } else {
      if (!bodies.usage_fields(r.body, r.body_bytes, fields)) {
        flush(buf, out);
        print_error(err, Command::export_records,
                    "the body of id " + std::to_string(r.id) + " in " + ref.path +
                        " is not a JSON object; export stopped before it");
        return 1;
      }
      append_csv_line(buf, r.id, ref.shard, r.arrival_ns, fields, body);
    }
    if (buf.size() >= (1u << 20)) written = flush(buf, out) && written;
    if (!written) break;
  }
  written = flush(buf, out) && written;
  if (!written || std::fflush(out) != 0 || std::ferror(out)) {
    print_error(err, Command::export_records, "cannot write the output (disk full, or the reader went away)");
    return 1;
  }
  return 0;
}

}  // namespace busyring::logtool
