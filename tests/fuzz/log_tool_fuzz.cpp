// Fuzz target log_tool: busyring-log's reading code (tools/log: data dir walk, segment
// judgement, verify, dump, stats, export, salvage) on arbitrary segment files written to a
// scratch data dir. Beyond not crashing: a log verify passes exports without complaint, one
// valid JSON object per record in id order; and a log salvage repaired walks without damage.
//
// Input: [flags][from_id][len u16][len u16][segment bytes]
//   flags bits 0-2: the command after verify: dump, stats, stats --json, export jsonl,
//                   export csv, salvage, or (6, 7) every read-only one
//   flags bits 3-4: 1 + (value % 3) segment files, cut from the bytes by the two lengths
//   flags bit 5:    the second segment goes to shard-01 (else segment 1 of shard-00)
//   flags bit 6:    each file zero-padded to 4 KiB (the I/O alignment; else misaligned)
//   flags bit 7:    the last segment is a directory, not a file
#include <simdjson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "../../tools/log/commands.h"
#include "../../tools/log/log_reader.h"
#include "../../tools/log/options.h"
#include "busyring/base/align.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"
#include "fuzz_target.h"
#include "scratch_dir.h"

namespace {

using namespace busyring;

constexpr size_t kFileAlign = 4096;

struct Output {
  int rc = -1;
  std::string out;
  std::string err;
};

Output run(logtool::Command command, const std::string& dir, logtool::Format format = logtool::Format::jsonl,
           uint64_t from_id = 0, bool json = false) {
  logtool::Options options;
  options.command = command;
  options.dirs = {dir};
  options.format = format;
  options.from_id = from_id;
  options.json = json;
  char* out_buf = nullptr;
  char* err_buf = nullptr;
  size_t out_len = 0;
  size_t err_len = 0;
  FILE* out = open_memstream(&out_buf, &out_len);
  FILE* err = open_memstream(&err_buf, &err_len);
  BR_FUZZ_CHECK(out != nullptr && err != nullptr);
  Output o;
  o.rc = logtool::run_command(options, out, err);
  fclose(out);
  fclose(err);
  o.out.assign(out_buf, out_len);
  o.err.assign(err_buf, err_len);
  free(out_buf);
  free(err_buf);
  BR_FUZZ_CHECK(o.rc == 0 || o.rc == 1);
  // Every complaint is one "busyring-log: <command>: ..." line.
  if (o.rc != 0) BR_FUZZ_CHECK(o.err.rfind("busyring-log: ", 0) == 0 && o.err.back() == '\n');
  return o;
}

// Usage records with id >= from_id in the files, as the server's scanner reads them.
class IdCounter final : public storage::RecordVisitor {
 public:
  explicit IdCounter(uint64_t from_id) : from_id_(from_id) {}
  bool on_record(const storage::RecordView& r, uint64_t) override {
    if (r.id >= from_id_) ++count;
    return true;
  }
  uint64_t count = 0;

 private:
  uint64_t from_id_;
};

// export jsonl: one JSON object per line, ids non-decreasing and >= from_id.
void check_jsonl(const std::string& text, uint64_t from_id, uint64_t expected_lines) {
  static simdjson::dom::parser parser;
  std::vector<char> line;
  uint64_t lines = 0;
  uint64_t last_id = 0;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    BR_FUZZ_CHECK(nl != std::string::npos);  // every line ends
    line.assign(text.begin() + static_cast<std::ptrdiff_t>(start), text.begin() + static_cast<std::ptrdiff_t>(nl));
    const size_t bytes = line.size();
    line.resize(bytes + simdjson::SIMDJSON_PADDING, '\0');
    simdjson::dom::element doc;
    BR_FUZZ_CHECK(parser.parse(line.data(), bytes, false).get(doc) == simdjson::SUCCESS);
    simdjson::dom::object obj;
    BR_FUZZ_CHECK(doc.get(obj) == simdjson::SUCCESS);
    uint64_t id = 0;
    BR_FUZZ_CHECK(obj["id"].get(id) == simdjson::SUCCESS);
    BR_FUZZ_CHECK(id >= from_id && id >= last_id);
    simdjson::dom::object body;
    BR_FUZZ_CHECK(obj["body"].get(body) == simdjson::SUCCESS);
    last_id = id;
    ++lines;
    start = nl + 1;
  }
  BR_FUZZ_CHECK(lines == expected_lines);
}

// The walk a server start would do, without body checks: damaged segments in data_dir.
uint64_t damaged_segments(const std::string& data_dir) {
  logtool::LogVisitor nothing;
  const auto totals = logtool::walk_log(data_dir, 0, nothing, nullptr);
  BR_FUZZ_CHECK(totals.ok());
  return totals.value().damaged_segments;
}

}  // namespace

BR_FUZZ_TARGET(log_tool) {
  using namespace busyring;
  fuzz::InputReader in(data, size);
  const uint8_t flags = in.u8();
  const uint64_t from_id = in.u8();
  const uint16_t lens[2] = {in.u16(), in.u16()};
  const uint8_t* bytes = in.rest();
  size_t left = in.rest_size();

  static const fuzz::ScratchDir scratch("log-tool");
  scratch.clear();
  const std::string data_dir = scratch.path() + "/data";
  const size_t segments = 1 + ((flags >> 3) & 3) % 3;
  const bool second_shard = (flags & 0x20) != 0;
  const bool pad = (flags & 0x40) != 0;
  const bool last_is_dir = (flags & 0x80) != 0;

  std::vector<std::vector<uint8_t>> files;
  for (size_t i = 0; i < segments; ++i) {
    const size_t n = i + 1 < segments ? std::min<size_t>(lens[i], left) : left;
    files.emplace_back(bytes, bytes + n);
    bytes += n;
    left -= n;
    if (pad) files.back().resize(base::align_up(files.back().size(), kFileAlign), 0);
  }
  IdCounter expected(from_id);
  for (size_t i = 0; i < segments; ++i) {
    const uint32_t shard = second_shard && i > 0 ? 1 : 0;
    const uint32_t index = second_shard && i > 0 ? static_cast<uint32_t>(i - 1) : static_cast<uint32_t>(i);
    const std::string dir = storage::shard_dir(data_dir, shard);
    BR_FUZZ_CHECK(storage::make_dirs(dir) == 0);
    const std::string path = storage::segment_path(dir, index);
    if (last_is_dir && i + 1 == segments) {
      BR_FUZZ_CHECK(mkdir(path.c_str(), 0755) == 0);
      continue;
    }
    fuzz::write_file(path, files[i].data(), files[i].size());
    const size_t scan_bytes = files[i].size() / 8 * 8;
    if (scan_bytes > 0) (void)storage::scan_segment(files[i].data(), scan_bytes, &expected);
  }

  const Output verify = run(logtool::Command::verify, data_dir);
  const unsigned choice = flags & 7;
  const bool all = choice >= 6;
  if (choice == 0 || all) {
    const Output dump = run(logtool::Command::dump, data_dir);
    // dump judges without reading bodies: it may pass where verify finds a bad body, never fail where verify passes.
    if (verify.rc == 0) BR_FUZZ_CHECK(dump.rc == 0);
  }
  if (choice == 1 || all) (void)run(logtool::Command::stats, data_dir);
  if (choice == 2 || all) (void)run(logtool::Command::stats, data_dir, logtool::Format::jsonl, 0, true);
  if (choice == 3 || all) {
    const Output exported = run(logtool::Command::export_records, data_dir, logtool::Format::jsonl, from_id);
    if (verify.rc == 0) {
      BR_FUZZ_CHECK(exported.rc == 0);
      check_jsonl(exported.out, from_id, expected.count);
    }
  }
  if (choice == 4 || all) {
    const Output exported = run(logtool::Command::export_records, data_dir, logtool::Format::csv, from_id);
    if (verify.rc == 0) BR_FUZZ_CHECK(exported.rc == 0);
  }
  if (choice == 5) {
    const Output salvaged = run(logtool::Command::salvage, data_dir);
    // What salvage says it repaired, a server start (and verify, bodies aside) accepts.
    if (salvaged.rc == 0) BR_FUZZ_CHECK(damaged_segments(data_dir) == 0);
    if (verify.rc == 0) BR_FUZZ_CHECK(salvaged.rc == 0);
  }
  return 0;
}
