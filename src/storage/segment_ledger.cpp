// The segment ledger and the start-up check that no segment went missing; see segment_ledger.h.
#include "busyring/storage/segment_ledger.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"
#include "busyring/storage/retired.h"
#include "busyring/storage/segment.h"

namespace busyring::storage {
namespace {

constexpr uint64_t kMaxBytes = 256ull << 20;

bool parse_u32(const char*& p, const char* end, uint32_t& out) {
  if (p == end || *p < '0' || *p > '9') return false;
  uint64_t v = 0;
  for (; p != end && *p >= '0' && *p <= '9'; ++p) {
    v = v * 10 + static_cast<uint64_t>(*p - '0');
    if (v > UINT32_MAX) return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

void raise(std::vector<int64_t>& highest, uint32_t shard, int64_t index) {
  if (highest.size() <= shard) highest.resize(shard + 1, -1);
  highest[shard] = std::max(highest[shard], index);
}

std::string missing_line(const std::string& data_dir, const std::string& path, bool ledger) {
  return path + " is missing: " +
         (ledger ? "busyring created it (" + ledger_path(data_dir) + ")" : std::string("later segments exist")) +
         " and busyring-log retire did not retire it (" + retired_path(data_dir) +
         "), so ids it held may have been acknowledged and must not be issued again; put the file back, or "
         "the retired file if that is what went (exported segments are removed with `busyring-log retire " +
         data_dir + " --checkpoint FILE`)";
}

}  // namespace

std::string ledger_path(const std::string& data_dir) { return data_dir + "/" + kLedgerFile; }

base::Result<Ledger> load_ledger(const std::string& data_dir) {
  const std::string path = ledger_path(data_dir);
  Ledger ledger;
  std::string text;
  const int rc = base::read_file(path, text, kMaxBytes);
  if (rc == -ENOENT) return ledger;
  if (rc < 0) return base::Error{"cannot read " + path + ": " + std::strerror(-rc)};
  ledger.exists = true;
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // torn last append: that segment was never used
    ++line_no;
    const char* p = text.data() + pos;
    const char* end = text.data() + nl;
    uint32_t shard = 0, index = 0;
    if (!parse_u32(p, end, shard) || p == end || *p++ != ' ' || !parse_u32(p, end, index) || p != end ||
        shard >= 100000)
      return base::Error{path + " line " + std::to_string(line_no) +
                         " is not \"SHARD SEGMENT\"; the file was edited or damaged (restore it; it lists the "
                         "segments busyring created)"};
    raise(ledger.highest, shard, index);
    pos = nl + 1;
  }
  return ledger;
}

base::Status rewrite_ledger(const std::string& data_dir, const std::vector<int64_t>& highest) {
  std::string text;
  char line[kLedgerLineMax];
  for (uint32_t k = 0; k < highest.size(); ++k)
    if (highest[k] >= 0) text.append(line, format_ledger_line(line, k, static_cast<uint32_t>(highest[k])));
  const std::string path = ledger_path(data_dir);
  if (const int rc = base::replace_file_durably(path, text); rc < 0)
    return base::Error{"cannot write " + path + ": " + std::strerror(-rc)};
  return base::ok_status();
}

size_t format_ledger_line(char* buf, uint32_t shard, uint32_t index) noexcept {
  const int n = std::snprintf(buf, kLedgerLineMax, "%u %u\n", shard, index);
  return n < 0 ? 0 : static_cast<size_t>(n);
}

int open_ledger(const std::string& data_dir) {
  const int fd = ::open(ledger_path(data_dir).c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  return fd < 0 ? -errno : fd;
}

int append_ledger_sync(int fd, uint32_t shard, uint32_t index) {
  char line[kLedgerLineMax];
  const size_t n = format_ledger_line(line, shard, index);
  const ssize_t w = ::write(fd, line, n);
  if (w < 0) return -errno;
  if (static_cast<size_t>(w) != n) return -EIO;
  return ::fdatasync(fd) == 0 ? 0 : -errno;
}

base::Result<LogInventory> check_log_complete(const std::string& data_dir) {
  auto retired = load_retired(data_dir);
  if (!retired) return base::Error{retired.error()};
  auto ledger = load_ledger(data_dir);
  if (!ledger) return base::Error{ledger.error()};
  std::vector<uint32_t> dirs;
  if (const int rc = list_shards(data_dir, dirs); rc < 0 && rc != -ENOENT)
    return base::Error{"cannot list " + data_dir + ": " + std::strerror(-rc)};
  LogInventory inv;
  inv.highest = ledger.value().highest;
  std::vector<std::vector<uint32_t>> on_disk;
  for (const uint32_t k : dirs) {
    std::vector<uint32_t> segments;
    const std::string dir = shard_dir(data_dir, k);
    if (const int rc = list_segments(dir, segments); rc < 0)
      return base::Error{"cannot list " + dir + ": " + std::strerror(-rc)};
    if (!segments.empty()) raise(inv.highest, k, segments.back());
    if (on_disk.size() <= k) on_disk.resize(k + 1);
    on_disk[k] = std::move(segments);
  }
  for (const RetiredShard& s : retired.value().shards) raise(inv.highest, s.shard, s.through);
  on_disk.resize(inv.highest.size());
  inv.first_writable.assign(inv.highest.size(), 0);
  for (uint32_t k = 0; k < inv.highest.size(); ++k) {
    const int64_t through = retired.value().through(k);
    inv.first_writable[k] = static_cast<uint32_t>(through + 1);
    for (int64_t i = through + 1; i <= inv.highest[k]; ++i) {
      const auto index = static_cast<uint32_t>(i);
      if (std::binary_search(on_disk[k].begin(), on_disk[k].end(), index)) continue;
      const bool named = ledger.value().exists && k < ledger.value().highest.size() && ledger.value().highest[k] >= i;
      return base::Error{missing_line(data_dir, segment_path(shard_dir(data_dir, k), index), named)};
    }
  }
  inv.retired = std::move(retired.value());
  inv.ledger_existed = ledger.value().exists;
  return inv;
}

}  // namespace busyring::storage
