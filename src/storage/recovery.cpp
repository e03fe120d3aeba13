// Shard recovery: segment by segment, mmap + scan; see recovery.h.
//
// A torn tail is voided without rewriting any sector that may hold acknowledged bytes: a skip
// marker goes at the first aligned offset past the torn bytes and declares [bad, marker) void.
// Only when no room is left in the segment for the marker are the torn bytes zeroed in place
// (the segment is full then, so nothing acknowledged shares those sectors but the record
// before the tear, rewritten with its own bytes).
#include "busyring/storage/recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/align.h"
#include "busyring/base/io.h"
#include "busyring/base/log.h"
#include "busyring/storage/mapped_file.h"
#include "busyring/storage/segment.h"
#include "recovery_summaries.h"

namespace busyring::storage {
namespace {

std::string errno_text(int neg_errno) { return std::strerror(-neg_errno); }

// Writes `bytes` (aligned) at `off` with O_DIRECT and fdatasync.
int write_direct(const std::string& path, const void* buf, size_t bytes, uint64_t off) {
  const int fd = open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = base::pwrite_all(fd, buf, bytes, off);
  if (rc == 0 && fdatasync(fd) != 0) rc = -errno;
  close(fd);
  return rc;
}

// Voids the torn bytes of a segment; returns the aligned offset where appending may resume.
base::Result<uint64_t> void_torn_tail(const std::string& path, const MappedFile& m,
                                      const SegmentScan& s, uint32_t align) {
  const uint64_t marker_off = base::align_up(s.torn_end, align);
  const size_t block = base::align_up(record_bytes(0), align);
  const size_t scanned = m.scan_bytes();
  void* buf = alloc_aligned(base::align_up(block + scanned, 4096));
  if (buf == nullptr) return base::Error{"out of memory voiding a torn tail"};
  auto* b = static_cast<uint8_t*>(buf);
  int rc = 0;
  uint64_t resume = 0;
  if (marker_off + block <= scanned) {
    encode_record(b, RecordKind::skip, s.bad_offset, marker_off, nullptr, 0);
    rc = write_direct(path, b, block, marker_off);
    resume = marker_off + block;
  } else {
    const uint64_t from = base::align_down(s.bad_offset, align);
    const uint64_t to = base::align_up(s.torn_end, align);
    std::memcpy(b, m.data() + from, s.bad_offset - from);
    rc = write_direct(path, b, to - from, from);
    resume = base::align_up(s.data_end, align);
  }
  free_aligned(buf, base::align_up(block + scanned, 4096));
  if (rc < 0) return base::Error{"cannot void the torn tail of " + path + ": " + errno_text(rc)};
  return resume;
}

base::Error torn_followed(const std::string& torn_path, const std::string& path) {
  return base::Error{"torn tail in " + torn_path + " is followed by records in " + path +
                     "; refusing to start: run 'busyring-log salvage' (see README, Recovery)"};
}

// A sealed segment taken from its summary: counted, and appending resumes after it at least.
void take_summary(ShardRecovery& r, const SegmentSummary& summary) {
  r.records += summary.records;
  r.record_bytes += summary.record_bytes;
  ++r.summarised;
  r.position = AppendPosition{summary.segment + 1, 0};
}

}  // namespace

base::Result<ShardRecovery> recover_shard(const std::string& dir, bool repair,
                                          RecordVisitor* visitor) {
  ShardRecovery r;
  std::vector<uint32_t> segments;
  const int rc = list_segments(dir, segments);
  if (rc == -ENOENT) return r;
  if (rc < 0) return base::Error{"cannot list " + dir + ": " + errno_text(rc)};
  r.segments = static_cast<uint32_t>(segments.size());
  prefetch_summaries(dir, segments);
  bool torn_seen = false;
  std::string torn_path;
  std::vector<ScannedSegment> scanned;  // with repair: those sealed get a summary written
  for (const uint32_t index : segments) {
    const std::string path = segment_path(dir, index);
    // Summaries (segment_summary.h): a sealed segment with a valid one is not read at all.
    SegmentSummary summary;
    const SummaryRead found = find_summary(dir, index, summary);
    if (found == SummaryRead::ok && torn_seen && summary.records > 0)
      return torn_followed(torn_path, path);
    if (found == SummaryRead::ok && (visitor == nullptr || visitor->on_summary(summary))) {
      take_summary(r, summary);
      continue;
    }
    MappedFile m;
    const int mrc = m.open(path, true);  // populated: the scan reads every page
    if (mrc < 0) return base::Error{"cannot read " + path + ": " + errno_text(mrc)};
    SummarisingVisitor summarising(visitor, index);
    const SegmentScan s = scan_segment(m.data(), m.scan_bytes(), &summarising);
    r.bytes_scanned += m.scan_bytes();
    r.records += s.records;
    r.record_bytes += s.record_bytes;
    if (s.end == SegmentEnd::corrupt) {
      return base::Error{"corrupt record in " + path + " at offset " +
                         std::to_string(s.bad_offset) + " (" + decode_status_name(s.bad_status) +
                         "), followed by a valid record at offset " +
                         std::to_string(s.next_valid) +
                         "; refusing to start: run 'busyring-log salvage' on the data dir "
                         "(see README, Recovery)"};
    }
    if (torn_seen && (s.records > 0 || s.data_end > 0)) {
      return base::Error{"torn tail in " + torn_path + " is followed by records in " + path +
                         "; refusing to start: run 'busyring-log salvage' (see README, Recovery)"};
    }
    if (s.data_end > 0 || s.end == SegmentEnd::torn) r.position.segment = index;
    DioAlign align;
    const int arc = dio_alignment(path, align);
    if (arc < 0) return base::Error{"cannot use direct I/O on " + path + ": " + errno_text(arc)};
    uint64_t resume = base::align_up(s.data_end, align.offset);
    if (s.end == SegmentEnd::torn) {
      torn_seen = true;
      torn_path = path;
      if (repair) {
        auto voided = void_torn_tail(path, m, s, align.offset);
        if (!voided) return base::Error{voided.error()};
        resume = voided.value();
        ++r.torn_tails;
        torn_seen = false;  // voided: later segments may hold records again
        BR_LOG_WARN("recovery: torn tail in %s at offset %llu (%s), %llu bytes voided", path.c_str(),
                    static_cast<unsigned long long>(s.bad_offset), decode_status_name(s.bad_status),
                    static_cast<unsigned long long>(s.torn_end - s.bad_offset));
      }
    }
    if (s.data_end > 0 || s.end == SegmentEnd::torn) r.position.offset = resume;
    if (r.position.segment == index && r.position.offset >= m.scan_bytes()) {
      r.position.segment = index + 1;
      r.position.offset = 0;
    }
    if (r.position.segment == index) r.resumed = summarising.builder;
    if (repair) scanned.push_back(ScannedSegment{std::move(summarising.builder), found == SummaryRead::ok});
  }
  if (repair) r.summaries_written = write_missing_summaries(dir, scanned, r.position.segment);
  return r;
}

}  // namespace busyring::storage
