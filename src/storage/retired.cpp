// The retired-segments file: strict parsing (a damaged or hand-edited file is refused, never
// half-read) and durable replacement; see retired.h.
#include "busyring/storage/retired.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"

namespace busyring::storage {
namespace {

constexpr std::string_view kMagic = "busyring-retired 1";
constexpr uint64_t kMaxBytes = 64ull << 20;

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at <= line.size()) {
    const size_t sp = line.find(' ', at);
    const size_t end = sp == std::string_view::npos ? line.size() : sp;
    out.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

bool to_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

bool to_u32(std::string_view s, uint32_t* out) {
  uint64_t v = 0;
  if (!to_u64(s, &v) || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// One "shard K through N" or "ids FIRST LAST" line into log; false when it is neither or out
// of order.
bool parse_entry(std::string_view line, RetiredLog& log) {
  const auto w = words_of(line);
  if (w.size() == 4 && w[0] == "shard" && w[2] == "through") {
    RetiredShard s;
    if (!to_u32(w[1], &s.shard) || !to_u32(w[3], &s.through)) return false;
    if (!log.shards.empty() && log.shards.back().shard >= s.shard) return false;
    log.shards.push_back(s);
    return true;
  }
  if (w.size() == 3 && w[0] == "ids") {
    RetiredIds r;
    if (!to_u64(w[1], &r.first) || !to_u64(w[2], &r.last) || r.first == 0 || r.first > r.last) return false;
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
  std::string_view text = all;
  size_t line_no = 0;
  bool ended = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return base::Error{"line " + std::to_string(line_no + 1) + " is cut short"};
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (ended) return base::Error{where + "text after the end line"};
    const auto w = words_of(line);
    uint64_t n = 0;
    if (line_no == 1) {
      if (line != kMagic) return base::Error{where + "want '" + std::string(kMagic) + "'"};
    } else if (w.size() == 2 && w[0] == "end" && to_u64(w[1], &n)) {
      if (n != log.shards.size() + log.ids.size()) return base::Error{where + "the count does not match the lines"};
      ended = true;
    } else if (!parse_entry(line, log)) {
      return base::Error{where + "want 'shard K through N' or 'ids FIRST LAST', ascending"};
    }
  }
  if (!ended) return base::Error{"no end line (the file is cut short)"};
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
