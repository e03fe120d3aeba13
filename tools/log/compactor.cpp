// Compaction of one shard directory; see compactor.h for the protocol and the sealed rule.
#include "compactor.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"
#include "busyring/storage/compact_segment.h"
#include "busyring/storage/mapped_file.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"

namespace busyring::logtool {
namespace {

using storage::MappedFile;

std::string errno_text(int neg_errno) { return std::strerror(-neg_errno); }

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

base::Status sync_dir(const std::string& dir) {
  if (const int rc = base::fsync_dir(dir); rc < 0) return base::Error{"cannot fsync " + dir + ": " + errno_text(rc)};
  return base::ok_status();
}

// The lowest and highest id of a segment's usage records.
class IdRange final : public storage::RecordVisitor {
 public:
  bool on_record(const storage::RecordView& r, uint64_t) override {
    low = std::min(low, r.id);
    high = std::max(high, r.id);
    return true;
  }
  uint64_t low = UINT64_MAX;
  uint64_t high = 0;
};

// Stops at the first usage record and keeps its arrival time.
class FirstArrival final : public storage::RecordVisitor {
 public:
  bool on_record(const storage::RecordView& r, uint64_t) override {
    arrival_ns = r.arrival_ns;
    found = true;
    return false;
  }
  uint64_t arrival_ns = 0;
  bool found = false;
};

// Whether `a` (a .zlog, decoded) holds exactly the bytes of `log`.
bool same_bytes(const std::string& zlog, uint32_t index, const MappedFile& log) {
  const uint8_t* data = nullptr;
  uint64_t bytes = 0;
  std::string why;
  if (storage::map_compact(zlog, index, &data, &bytes, why) < 0) return false;
  const bool same = bytes == log.file_bytes() && (bytes == 0 || std::memcmp(data, log.data(), bytes) == 0);
  if (data != nullptr) munmap(const_cast<uint8_t*>(data), bytes);
  return same;
}

// Writes `bytes` to `path` (created or truncated) and fsyncs it.
base::Status write_synced(const std::string& path, const std::vector<uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return base::Error{"cannot create " + path + ": " + std::strerror(errno)};
  int rc = base::write_all(fd, bytes.data(), bytes.size());
  if (rc == 0 && ::fsync(fd) != 0) rc = -errno;
  ::close(fd);
  if (rc < 0) {
    ::unlink(path.c_str());
    return base::Error{"cannot write " + path + ": " + errno_text(rc)};
  }
  return base::ok_status();
}

// The compacted file for the mapped segment, checked by decoding it back; empty with `why`
// when the segment is not one to compact.
std::vector<uint8_t> build_compact(uint32_t index, const MappedFile& log, int level, uint64_t& records,
                                   std::string& why) {
  IdRange ids;
  const storage::SegmentScan scan = storage::scan_segment(log.data(), log.scan_bytes(), &ids);
  if (scan.end != storage::SegmentEnd::clean || scan.torn_stretches > 0 || log.file_bytes() % 8 != 0) {
    why = std::string("its scan ends ") + storage::segment_end_name(scan.end) + " at offset " +
          std::to_string(scan.bad_offset) + " (busyring-log verify names the damage)";
    return {};
  }
  storage::CompactHeader h;
  h.segment = index;
  h.segment_bytes = log.file_bytes();
  h.data_end = scan.data_end;
  h.records = scan.records;
  h.record_bytes = scan.record_bytes;
  h.first_id = scan.records > 0 ? ids.low : 0;
  h.last_id = ids.high;
  std::vector<uint8_t> file = storage::encode_compact(h, log.data(), level, why);
  if (file.empty()) return {};
  // Decoded back and compared before anything is written: the copy is the segment.
  void* check = mmap(nullptr, log.file_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (check == MAP_FAILED) {
    why = "out of memory checking the compacted copy";
    return {};
  }
  storage::CompactHeader back;
  const bool ok = storage::decode_compact(file.data(), file.size(), index, back, static_cast<uint8_t*>(check),
                                          log.file_bytes(), why) &&
                  std::memcmp(check, log.data(), log.file_bytes()) == 0;
  munmap(check, log.file_bytes());
  if (!ok) {
    if (why.empty()) why = "the compacted copy does not decode to the segment's bytes";
    return {};
  }
  records = scan.records;
  return file;
}

}  // namespace

base::Status compact_leftovers(const std::string& dir, CompactTotals& totals) {
  bool changed = false;
  if (DIR* d = opendir(dir.c_str())) {
    std::vector<std::string> tmps;
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      const std::string suffix = std::string(storage::kCompactSuffix) + ".tmp";
      if (name.rfind("seg-", 0) == 0 && name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
        tmps.push_back(dir + "/" + name);
    }
    closedir(d);
    for (const std::string& t : tmps) {
      if (::unlink(t.c_str()) != 0 && errno != ENOENT)
        return base::Error{"cannot remove " + t + ": " + std::strerror(errno)};
      ++totals.tmp_removed;
      changed = true;
    }
  } else {
    return base::Error{"cannot list " + dir + ": " + std::strerror(errno)};
  }
  std::vector<uint32_t> compacted;
  if (const int rc = storage::list_compacted_segments(dir, compacted); rc < 0)
    return base::Error{"cannot list " + dir + ": " + errno_text(rc)};
  for (const uint32_t index : compacted) {
    const std::string log_path = storage::segment_path(dir, index);
    if (!exists(log_path)) continue;
    MappedFile log;
    if (const int rc = log.open(log_path); rc < 0) return base::Error{"cannot read " + log_path + ": " + errno_text(rc)};
    const std::string zlog = storage::compact_path(dir, index);
    const bool keep_zlog = same_bytes(zlog, index, log);
    const std::string& victim = keep_zlog ? log_path : zlog;
    if (::unlink(victim.c_str()) != 0 && errno != ENOENT)
      return base::Error{"cannot remove " + victim + ": " + std::strerror(errno)};
    ++(keep_zlog ? totals.finished : totals.redone);
    changed = true;
  }
  return changed ? sync_dir(dir) : base::ok_status();
}

base::Status compact_segment_file(const std::string& dir, uint32_t index, const CompactOptions& options,
                                  CompactTotals& totals) {
  const std::string log_path = storage::segment_path(dir, index);
  const std::string zlog = storage::compact_path(dir, index);
  MappedFile log;
  if (const int rc = log.open(log_path); rc < 0) return base::Error{"cannot read " + log_path + ": " + errno_text(rc)};
  if (log.compacted()) return base::ok_status();  // done already
  std::string why;
  uint64_t records = 0;
  const std::vector<uint8_t> file = build_compact(index, log, options.zstd_level, records, why);
  if (file.empty()) {
    if (totals.skipped_damaged++ == 0) totals.first_problem = log_path + " was not compacted: " + why;
    return base::ok_status();
  }
  const std::string tmp = zlog + ".tmp";
  if (auto st = write_synced(tmp, file); !st) return st;
  if (options.stop_after == CompactStep::tmp_written) return base::ok_status();
  if (::rename(tmp.c_str(), zlog.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return base::Error{"cannot rename " + tmp + ": " + std::strerror(e)};
  }
  if (auto st = sync_dir(dir); !st) return st;
  if (options.stop_after == CompactStep::renamed) return base::ok_status();
  if (::unlink(log_path.c_str()) != 0) return base::Error{"cannot remove " + log_path + ": " + std::strerror(errno)};
  if (options.stop_after == CompactStep::log_removed) return base::ok_status();
  if (auto st = sync_dir(dir); !st) return st;
  ++totals.compacted;
  totals.bytes_before += log.file_bytes();
  totals.bytes_after += file.size();
  totals.records += records;
  return base::ok_status();
}

base::Status compact_shard(const std::string& dir, uint64_t now_ns, const CompactOptions& options,
                           CompactTotals& totals) {
  std::vector<uint32_t> segments;
  if (const int rc = storage::list_segments(dir, segments); rc < 0)
    return base::Error{"cannot list " + dir + ": " + errno_text(rc)};
  // The sealed boundary: the highest segment that begins with a record older than settle (or
  // is compacted already); every segment below it is sealed.
  int64_t boundary = -1;
  for (size_t i = segments.size(); i-- > 0;) {
    const std::string log_path = storage::segment_path(dir, segments[i]);
    if (!exists(log_path)) {  // compacted: sealed, and so is everything below it
      boundary = segments[i];
      break;
    }
    MappedFile m;
    if (m.open(log_path) < 0) continue;  // gone meanwhile (retired); the next run sees
    FirstArrival first;
    (void)storage::scan_segment(m.data(), m.scan_bytes(), &first);
    if (first.found && first.arrival_ns + options.settle_ns <= now_ns) {
      boundary = segments[i];
      break;
    }
  }
  for (const uint32_t index : segments) {
    if (static_cast<int64_t>(index) >= boundary) break;
    if (static_cast<int64_t>(index) <= options.retired_through) continue;
    if (!exists(storage::segment_path(dir, index))) continue;
    if (auto st = compact_segment_file(dir, index, options, totals); !st) return st;
    if (options.stop_after != CompactStep::none) break;
  }
  return base::ok_status();
}

}  // namespace busyring::logtool
