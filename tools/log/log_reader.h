// Walking a data dir with the server's own scanner, one mapped segment at a time (memory is
// bounded by one segment whatever the log's size), and judging each segment. Damage is what
// recovery refuses or no server writes: corruption, a torn tail that records follow, a file
// that is no segment (empty, off the I/O alignment, no header at offset 0), a non-JSON body.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "body.h"
#include "busyring/base/result.h"
#include "busyring/storage/mapped_file.h"
#include "busyring/storage/scan.h"

namespace busyring::logtool {

struct ShardLog {
  uint32_t shard = 0;
  std::string dir;                 // DATA_DIR/shard-KK
  std::vector<uint32_t> segments;  // sorted segment indexes
};

// The shards of data_dir; an error (one line) for a missing dir, a non-directory, or a dir
// without any shard-KK directory.
[[nodiscard]] base::Result<std::vector<ShardLog>> open_log(const std::string& data_dir);

// Segments are read through the server's own read-only mapping.
using storage::MappedFile;

// The direct-I/O offset alignment of path's filesystem (STATX_DIOALIGN), else 512.
uint32_t io_alignment(const std::string& path);

enum class Damage : uint8_t {
  none,
  unreadable,
  not_a_segment,
  misaligned_size,
  corrupt,
  torn_before_records,
  bad_body,
};

struct SegmentReport {
  std::string path;  // the file read: the .log, or a compacted segment's .zlog
  uint32_t shard = 0;
  uint32_t segment = 0;
  uint64_t file_bytes = 0;
  storage::SegmentScan scan;
  uint64_t bad_bodies = 0;
  Damage damage = Damage::none;
  std::string problem;  // one sentence naming file and offset when damage != none
};

// Where a usage record lies.
struct RecordPlace {
  uint32_t dir_index = 0;  // which DIR argument
  uint32_t shard = 0;
  uint32_t segment = 0;
  uint64_t offset = 0;
};

class LogVisitor {
 public:
  virtual ~LogVisitor() = default;
  // Before a mapped segment is scanned (data valid until on_segment returns). `path` is its
  // .log name, which opens it in either form (MappedFile); `read_path` the file actually read,
  // the name to show: the .log, or the .zlog of a compacted segment.
  virtual void on_segment_start(const std::string& /*path*/, const std::string& /*read_path*/,
                                const uint8_t* /*data*/, size_t /*bytes*/) {}
  // A usage record; false stops this segment's scan.
  virtual bool on_record(const storage::RecordView& /*record*/, const RecordPlace& /*at*/) { return true; }
  virtual void on_segment(const SegmentReport& /*report*/) {}
};

// Scans one mapped segment and judges it (all but the cross-segment torn rule); `path` is the
// name its report and problems give it.
SegmentReport check_segment(const std::string& path, const MappedFile& file, storage::RecordVisitor* visitor);

struct WalkTotals {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t record_bytes = 0;
  uint64_t damaged_segments = 0;
  std::string first_problem;
};

// Walks every segment of every shard in order, each mapped alone, each named by the file read
// (a compacted segment by its .zlog). With `bodies`, every usage
// body is checked to be a JSON object. Errors only for a dir that cannot be listed.
[[nodiscard]] base::Result<WalkTotals> walk_log(const std::string& data_dir, uint32_t dir_index, LogVisitor& visitor,
                                                BodyParser* bodies);

}  // namespace busyring::logtool
