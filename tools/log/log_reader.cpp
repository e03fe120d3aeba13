// Data dir walking and segment judgement; see log_reader.h. The cross-segment rule mirrors
// storage::recover_shard: once a segment of a shard ends torn, a later segment holding
// records makes recovery refuse, so it is damage here too.
#include "log_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "busyring/storage/compact_segment.h"
#include "busyring/storage/segment.h"

namespace busyring::logtool {
namespace {

std::string errno_text(int neg_errno) { return std::strerror(-neg_errno); }

// Forwards the scanner's records with their place, checking bodies on the way.
class PlaceAdapter final : public storage::RecordVisitor {
 public:
  PlaceAdapter(LogVisitor& visitor, RecordPlace place, BodyParser* bodies)
      : visitor_(visitor), place_(place), bodies_(bodies) {}

  bool on_record(const storage::RecordView& record, uint64_t offset) override {
    if (bodies_ != nullptr && !bodies_->is_object(record.body, record.body_bytes)) {
      if (bad_bodies == 0) {
        first_bad_id = record.id;
        first_bad_offset = offset;
      }
      ++bad_bodies;
    }
    place_.offset = offset;
    return visitor_.on_record(record, place_);
  }

  uint64_t bad_bodies = 0;
  uint64_t first_bad_id = 0;
  uint64_t first_bad_offset = 0;

 private:
  LogVisitor& visitor_;
  RecordPlace place_;
  BodyParser* bodies_;
};

}  // namespace

base::Result<std::vector<ShardLog>> open_log(const std::string& data_dir) {
  struct stat st {};
  if (stat(data_dir.c_str(), &st) != 0) return base::Error{data_dir + ": " + std::strerror(errno)};
  if (!S_ISDIR(st.st_mode)) return base::Error{data_dir + " is not a directory (give a busyring --data-dir)"};
  std::vector<uint32_t> shards;
  if (const int rc = storage::list_shards(data_dir, shards); rc < 0)
    return base::Error{"cannot list " + data_dir + ": " + errno_text(rc)};
  if (shards.empty())
    return base::Error{data_dir + " holds no shard-KK directory: not a busyring data dir, or nothing was written yet"};
  std::vector<ShardLog> out;
  for (const uint32_t shard : shards) {
    ShardLog log;
    log.shard = shard;
    log.dir = storage::shard_dir(data_dir, shard);
    if (const int rc = storage::list_segments(log.dir, log.segments); rc < 0)
      return base::Error{"cannot list " + log.dir + ": " + errno_text(rc)};
    out.push_back(std::move(log));
  }
  return out;
}

uint32_t io_alignment(const std::string& path) {
  storage::DioAlign align;
  return storage::dio_alignment(path, align) == 0 && align.offset > 0 ? align.offset : 512;
}

SegmentReport check_segment(const std::string& path, const MappedFile& file, storage::RecordVisitor* visitor) {
  SegmentReport r;
  r.path = path;
  r.file_bytes = file.file_bytes();
  if (file.scan_bytes() > 0) r.scan = storage::scan_segment(file.data(), file.scan_bytes(), visitor);
  const storage::SegmentScan& s = r.scan;
  if (r.file_bytes == 0) {
    r.damage = Damage::not_a_segment;
    r.problem = path + " is empty (segments are created full size): not a segment";
  } else if (const uint32_t align = io_alignment(path); r.file_bytes % align != 0) {
    r.damage = Damage::misaligned_size;
    r.problem = path + " is " + std::to_string(r.file_bytes) + " bytes, not a multiple of the " +
                std::to_string(align) + "-byte I/O alignment: truncated, or not a segment";
  } else if (s.end == storage::SegmentEnd::corrupt) {
    r.damage = Damage::corrupt;
    r.problem = "corrupt record in " + path + " at offset " + std::to_string(s.bad_offset) + " (" +
                storage::decode_status_name(s.bad_status) + "), followed by a valid record at offset " +
                std::to_string(s.next_valid);
  } else if (s.end == storage::SegmentEnd::torn && s.records == 0 && s.data_end == 0 && s.bad_offset == 0 &&
             s.bad_status == storage::DecodeStatus::bad_magic) {
    // The writer starts every segment with a record header; no torn write leaves a nonzero
    // non-magic word at offset 0 (that sector is the first a write to it fills).
    r.damage = Damage::not_a_segment;
    r.problem = path + " holds no record (the bytes at offset 0 are no record header): not a segment";
  }
  return r;
}

base::Result<WalkTotals> walk_log(const std::string& data_dir, uint32_t dir_index, LogVisitor& visitor,
                                  BodyParser* bodies) {
  auto log = open_log(data_dir);
  if (!log) return base::Error{log.error()};
  WalkTotals totals;
  for (const ShardLog& shard : log.value()) {
    std::string torn_path;
    uint64_t torn_offset = 0;
    for (const uint32_t index : shard.segments) {
      const std::string log_path = storage::segment_path(shard.dir, index);
      MappedFile file;
      SegmentReport report;
      const int rc = file.open(log_path);
      // Messages name the file read: a compacted segment's .zlog (also when it fails its checks).
      const std::string path =
          file.compacted() || rc == -EBADMSG ? storage::compact_path(shard.dir, index) : log_path;
      if (rc < 0) {
        report.path = path;
        report.damage = Damage::unreadable;
        report.problem = "cannot read " + (rc == -EBADMSG ? file.problem()
                                           : path + ": " + (rc == -EINVAL ? "not a regular file" : errno_text(rc)));
      } else {
        visitor.on_segment_start(log_path, path, file.data(), file.scan_bytes());
        PlaceAdapter adapter(visitor, RecordPlace{dir_index, shard.shard, index, 0}, bodies);
        report = check_segment(path, file, &adapter);
        report.bad_bodies = adapter.bad_bodies;
        if (report.damage == Damage::none && adapter.bad_bodies > 0) {
          report.damage = Damage::bad_body;
          report.problem =
              path + ": " + std::to_string(adapter.bad_bodies) + " record bodies are not JSON objects (the first: id " +
              std::to_string(adapter.first_bad_id) + " at offset " + std::to_string(adapter.first_bad_offset) + ")";
        }
      }
      report.shard = shard.shard;
      report.segment = index;
      const storage::SegmentScan& s = report.scan;
      if (report.damage == Damage::none && !torn_path.empty() && (s.records > 0 || s.data_end > 0)) {
        report.damage = Damage::torn_before_records;
        report.problem = path + " holds records after the torn tail of " + torn_path + " at offset " +
                         std::to_string(torn_offset) + ": the server refuses to start (run busyring-log salvage)";
      }
      if (s.end == storage::SegmentEnd::torn) {
        torn_path = path;
        torn_offset = s.bad_offset;
      }
      ++totals.segments;
      totals.records += s.records;
      totals.record_bytes += s.record_bytes;
      if (report.damage != Damage::none) {
        if (totals.damaged_segments == 0) totals.first_problem = report.problem;
        ++totals.damaged_segments;
      }
      visitor.on_segment(report);
    }
  }
  return totals;
}

}  // namespace busyring::logtool
