// busyring-log salvage DIR: makes a log the server refuses startable again. Each segment it
// changes is first copied to <segment>.broken; then every corrupt stretch [bad, next valid) is
// voided (salvage_io.h) until the segment scans clean or torn, as is a torn tail that later
// records follow (the last torn tail is recovery's). Files that are no segment are left as
// they are. Holds DIR/LOCK like the server, so it never runs beside a live one.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "busyring/base/align.h"
#include "busyring/base/fs.h"
#include "busyring/storage/data_dir.h"
#include "busyring/storage/segment.h"
#include "commands.h"
#include "log_reader.h"
#include "progress.h"
#include "salvage_io.h"

namespace busyring::logtool {
namespace {

struct TornTail {
  std::string path;
  uint64_t from = 0;
  uint64_t to = 0;
  uint32_t align = 512;
  std::string copy;  // the .broken copy already made, if any
};

class Salvager {
 public:
  Salvager(std::FILE* out, std::FILE* err, ProgressLine& progress) : out_(out), err_(err), progress_(progress) {}

  void shard(const ShardLog& log) {
    std::optional<TornTail> torn;
    for (const uint32_t index : log.segments) {
      const std::string path = storage::segment_path(log.dir, index);
      MappedFile file;
      if (const int rc = file.open(path); rc < 0) {
        fail("cannot read " + path + ": " + std::strerror(-rc) + "; left as is");
        continue;
      }
      const Counted counted{progress_, file.file_bytes()};
      SegmentReport r = check_segment(path, file, nullptr);
      if (r.damage == Damage::misaligned_size || r.damage == Damage::not_a_segment) {
        fail(r.problem + "; left as is (move it out of " + log.dir + " if it is not a segment)");
        continue;
      }
      std::string copy;
      if (!fix_corruption(path, file, r, copy)) continue;
      const storage::SegmentScan& s = r.scan;
      if (torn && (s.records > 0 || s.data_end > 0)) {
        void_torn(*torn, path);
        torn.reset();
      }
      if (s.end == storage::SegmentEnd::torn)
        torn = TornTail{path, s.bad_offset, base::align_up(s.torn_end, 8), io_alignment(path), copy};
    }
  }

  uint64_t repaired = 0;
  uint64_t failed = 0;

 private:
  // Voids corrupt stretches until the segment scans clean or torn; r is rescanned each time.
  bool fix_corruption(const std::string& path, MappedFile& file, SegmentReport& r, std::string& copy) {
    uint64_t last_fixed = 0;
    bool fixed_any = false;
    while (r.scan.end == storage::SegmentEnd::corrupt) {
      const uint64_t from = r.scan.bad_offset, to = r.scan.next_valid;
      if (fixed_any && from <= last_fixed) {
        fail(path + ": voiding offset " + std::to_string(from) + " did not let the scan pass; left as is");
        return false;
      }
      if (copy.empty() && !keep_copy(path, copy)) return false;
      // Unmapped first: a direct write must be able to drop the cached pages it replaces.
      const uint32_t align = io_alignment(path);
      file.close();
      if (auto st = void_range(path, from, to, align); !st) {
        fail(st.error());
        return false;
      }
      progress_.interrupt();
      std::fprintf(
          out_,
          "salvaged %s: voided bytes [%llu, %llu) (%llu bytes, %s before a valid record); damaged copy kept as %s\n",
          path.c_str(), static_cast<unsigned long long>(from), static_cast<unsigned long long>(to),
          static_cast<unsigned long long>(to - from), storage::decode_status_name(r.scan.bad_status), copy.c_str());
      last_fixed = from;
      fixed_any = true;
      if (const int rc = file.open(path); rc < 0) {
        fail("cannot read " + path + " again: " + std::strerror(-rc));
        return false;
      }
      r = check_segment(path, file, nullptr);
    }
    if (fixed_any) ++repaired;
    return true;
  }

  void void_torn(TornTail& t, const std::string& later) {
    if (t.copy.empty() && !keep_copy(t.path, t.copy)) return;
    if (auto st = void_range(t.path, t.from, t.to, t.align); !st) {
      fail(st.error());
      return;
    }
    ++repaired;
    progress_.interrupt();
    std::fprintf(out_,
                 "salvaged %s: voided its torn tail [%llu, %llu) (%llu bytes), which records in %s follow; damaged "
                 "copy kept as %s\n",
                 t.path.c_str(), static_cast<unsigned long long>(t.from), static_cast<unsigned long long>(t.to),
                 static_cast<unsigned long long>(t.to - t.from), later.c_str(), t.copy.c_str());
  }

  // Before a segment changes: its copy, and its summary removed (it would name records that
  // salvage voids; start-up scans the segment instead and writes a new one).
  bool keep_copy(const std::string& path, std::string& copy) {
    auto c = copy_aside(path);
    if (!c) {
      fail(c.error() + "; nothing changed in " + path);
      return false;
    }
    copy = c.value();
    const std::string summary = path.substr(0, path.size() - 4) + ".summary";  // seg-N.log -> seg-N.summary
    if (::unlink(summary.c_str()) != 0 && errno != ENOENT) {
      fail("cannot remove " + summary + ": " + std::strerror(errno) + "; remove it before starting the server");
      return false;
    }
    (void)base::fsync_dir(base::parent_dir(summary));
    return true;
  }

  // Advances the progress line by a segment's bytes once it is dealt with, however it ends.
  struct Counted {
    ProgressLine& progress;
    uint64_t bytes;
    ~Counted() { progress.advance(bytes); }
  };

  void fail(const std::string& message) {
    progress_.interrupt();
    ++failed;
    print_error(err_, Command::salvage, message);
  }

  std::FILE* out_;
  std::FILE* err_;
  ProgressLine& progress_;
};

}  // namespace

int run_salvage(const Options& options, std::FILE* out, std::FILE* err) {
  const std::string& dir = options.dirs.front();
  auto log = open_log(dir);
  if (!log) {
    print_error(err, Command::salvage, log.error());
    return 1;
  }
  const int lock = storage::lock_data_dir(dir);
  if (lock < 0) {
    print_error(err, Command::salvage,
                lock == -EWOULDBLOCK
                    ? "a busyring server is using " + dir + " (" + dir + "/LOCK is locked); stop it first"
                    : "cannot lock " + dir + "/LOCK: " + std::strerror(-lock));
    return 1;
  }
  ProgressLine progress(out, err, "salvage", log_bytes({dir}), base::ProgressUnit::bytes);
  Salvager salvager(out, err, progress);
  for (const ShardLog& shard : log.value()) salvager.shard(shard);
  progress.finish();
  close(lock);
  if (salvager.repaired == 0 && salvager.failed == 0) {
    std::fprintf(out, "nothing to salvage in %s: every segment is clean or ends in a torn tail that recovery voids\n",
                 dir.c_str());
  } else if (salvager.failed == 0) {
    std::fprintf(out, "salvage: %llu segments repaired in %s; the server can start on it again\n",
                 static_cast<unsigned long long>(salvager.repaired), dir.c_str());
  }
  return salvager.failed == 0 ? 0 : 1;
}

}  // namespace busyring::logtool
