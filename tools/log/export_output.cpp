// Pass 2 of export: records read back in id order and written as lines; see export_output.h.
// Lines are gathered in one buffer and written 1 MiB at a time.
#include "export_output.h"

#include <algorithm>

#include "commands.h"
#include "format.h"
#include "record_fetch.h"

namespace busyring::logtool {
namespace {

// Writes buffered lines; false once stdout failed.
bool flush(std::string& buf, std::FILE* out) {
  const bool ok = buf.empty() || std::fwrite(buf.data(), 1, buf.size(), out) == buf.size();
  buf.clear();
  return ok;
}

}  // namespace

int write_records(std::vector<IndexEntry>& entries, const std::vector<FileRef>& files, Format format,
                  BodyParser& bodies, std::FILE* out, std::FILE* err, ProgressLine* progress) {
  ProgressLine silent(out, err, "", 0, base::ProgressUnit::records, false);
  ProgressLine& shown = progress != nullptr ? *progress : silent;
  std::sort(entries.begin(), entries.end());
  RecordFetcher fetcher;
  UsageFields fields;
  std::string buf;
  std::string error;
  bool written = true;
  if (format == Format::csv) buf.append(kCsvHeader);
  for (const IndexEntry& e : entries) {
    const auto file = static_cast<uint32_t>(e.location >> kOffsetBits);
    const uint64_t offset = e.location & ((1ull << kOffsetBits) - 1);
    const FileRef& ref = files[file];
    storage::RecordView r{};
    if (!fetcher.fetch(file, ref.path, offset, r, &error)) {
      shown.finish();
      flush(buf, out);
      print_error(err, Command::export_records, error + "; export stopped before id " + std::to_string(e.id));
      return 1;
    }
    const std::string_view body(reinterpret_cast<const char*>(r.body), r.body_bytes);
    if (format == Format::jsonl) {
      append_jsonl_line(buf, r.id, ref.shard, r.arrival_ns, body);
    } else {
      if (!bodies.usage_fields(r.body, r.body_bytes, fields)) {
        shown.finish();
        flush(buf, out);
        print_error(err, Command::export_records,
                    "the body of id " + std::to_string(r.id) + " in " + ref.path +
                        " is not a JSON object; export stopped before it");
        return 1;
      }
      append_csv_line(buf, r.id, ref.shard, r.arrival_ns, fields, body);
    }
    if (buf.size() >= (1u << 20)) {
      shown.interrupt();
      written = flush(buf, out) && written;
    }
    if (!written) break;
    shown.advance(1);
  }
  shown.finish();
  written = flush(buf, out) && written;
  if (!written || std::fflush(out) != 0 || std::ferror(out)) {
    print_error(err, Command::export_records, "cannot write the output (disk full, or the reader went away)");
    return 1;
  }
  return 0;
}

}  // namespace busyring::logtool
