// The retired-segments file: strict parsing (a damaged or hand-edited file is refused, never
// half-read) and durable replacement; see retired.h.
#include "busyring/storage/retired.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"
#include "busyring/storage/line_file.h"

namespace busyring::storage {
namespace {

constexpr std::string_view kMagic = "busyring-retired 1";
constexpr uint64_t kMaxBytes = 64ull << 20;

// One "shard K through N" or "ids FIRST LAST" line into log; false when it is neither or out
// of order.
bool parse_entry(std::string_view line, RetiredLog& log) {
  const auto w = split_words(line);
  if (w.size() == 4 && w[0] == "shard" && w[2] == "through") {
    RetiredShard s;
    if (!parse_u32(w[1], &s.shard) || !parse_u32(w[3], &s.through)) return false;
    if (!log.shards.empty() && log.shards.back().shard >= s.shard) return false;
    log.shards.push_back(s);
    return true;
  }
  if (w.size() == 3 && w[0] == "ids") {
    RetiredIds r;
    if (!parse_u64(w[1], &r.first) || !parse_u64(w[2], &r.last) || r.first == 0 || r.first > r.last) return false;
    if (!log.ids.empty() && log.ids.back().last + 1 >= r.first) return false;
    log.ids.push_back(r);
    return true;
  }
  return false;
}

}  // namespace

int64_t RetiredLog::through(uint32_t shard) const noexcept {
  for (const RetiredShard& s : shards)
    if (s.shard == shard) return s.through;
  return -1;
}

void RetiredLog::retire_through(uint32_t shard, uint32_t last) {
  auto it = std::lower_bound(shards.begin(), shards.end(), shard,
                             [](const RetiredShard& s, uint32_t k) { return s.shard < k; });
  if (it != shards.end() && it->shard == shard) {
    it->through = std::max(it->through, last);
    return;
  }
  shards.insert(it, RetiredShard{shard, last});
}

void RetiredLog::add_ids(uint64_t first, uint64_t last) {
  RetiredIds merged{first, last};
  std::vector<RetiredIds> out;
  out.reserve(ids.size() + 1);
  bool placed = false;
  for (const RetiredIds& r : ids) {
    if (r.last + 1 < merged.first) {
      out.push_back(r);
    } else if (merged.last + 1 < r.first) {
      if (!placed) out.push_back(merged);
      placed = true;
      out.push_back(r);
    } else {
      merged.first = std::min(merged.first, r.first);
      merged.last = std::max(merged.last, r.last);
    }
  }
  if (!placed) out.push_back(merged);
  ids = std::move(out);
}

std::string retired_path(const std::string& data_dir) { return data_dir + "/" + kRetiredFile; }

std::string format_retired(const RetiredLog& log) {
  std::string out(kMagic);
  out += '\n';
  for (const RetiredShard& s : log.shards)
    out += "shard " + std::to_string(s.shard) + " through " + std::to_string(s.through) + "\n";
  for (const RetiredIds& r : log.ids) out += "ids " + std::to_string(r.first) + " " + std::to_string(r.last) + "\n";
  out += "end " + std::to_string(log.shards.size() + log.ids.size()) + "\n";
  return out;
}

base::Result<RetiredLog> parse_retired(const std::string& all) {
  RetiredLog log;
  const LineFileShape shape{.magic = kMagic, .header_lines = 0, .entries = "shard and ids lines"};
  auto parsed = parse_line_file(all, shape, [&](size_t, std::string_view line, bool) -> std::string {
    if (parse_entry(line, log)) return "";
    return "want 'shard K through N' or 'ids FIRST LAST', ascending";
  });
  if (!parsed) return base::Error{parsed.error()};
  return log;
}

base::Result<RetiredLog> load_retired(const std::string& data_dir) {
  const std::string path = retired_path(data_dir);
  std::string text;
  const int rc = base::read_file(path, text, kMaxBytes);
  if (rc == -ENOENT) return RetiredLog{};
  if (rc < 0) return base::Error{"cannot read " + path + ": " + std::strerror(-rc)};
  auto log = parse_retired(text);
  if (!log)
    return base::Error{path + " is damaged (" + log.error() +
                       "); restore it from a backup: it says which segments busyring-log retire removed"};
  return log;
}

base::Status save_retired(const std::string& data_dir, const RetiredLog& log) {
  const std::string path = retired_path(data_dir);
  if (const int rc = base::replace_file_durably(path, format_retired(log)); rc < 0)
    return base::Error{"cannot write " + path + ": " + std::strerror(-rc)};
  return base::ok_status();
}

}  // namespace busyring::storage
