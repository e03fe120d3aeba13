// Shard recovery: segment by segment, mmap + scan, then judge the damage against the window
// the writes in flight at a crash could have covered, then void what is torn; see recovery.h.
//
// Torn bytes are voided without rewriting any sector that may hold acknowledged bytes: a skip
// marker goes at the first aligned offset past the segment's last nonzero byte and declares
// [first damaged byte, marker) void, except for the valid records in it. Only when no room is
// left in the segment for the marker are the invalid bytes zeroed in place (the segment is
// full then, so nothing acknowledged shares those sectors but the record before the tear,
// rewritten with its own bytes).
#include "busyring/storage/recovery.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "busyring/base/align.h"
#include "busyring/base/io.h"
#include "busyring/base/log.h"
#include "busyring/storage/log_writer.h"
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

// One segment as the first pass found it.
struct Segment {
  uint32_t index = 0;
  std::string path;
  uint64_t size = 0;   // bytes scanned (the file size, down to a multiple of 8)
  uint32_t align = 0;  // direct-I/O offset alignment
  SegmentScan scan;
  // Taken from its summary (segment_summary.h), not read: sealed, clean, appending never
  // returns to it. Otherwise the summary of what the scan found, and whether a valid one existed.
  bool sealed = false;
  SummaryBuilder builder;
  bool had_summary = false;
  // One past the last nonzero byte: every write that reached this segment ends at or before it.
  uint64_t nonzero_end() const { return scan.end == SegmentEnd::torn ? scan.torn_end : scan.data_end; }
  bool has_data() const { return nonzero_end() > 0; }
  bool damaged() const { return scan.end == SegmentEnd::torn || scan.torn_stretches > 0; }
  uint64_t first_damage() const { return scan.torn_stretches > 0 ? scan.first_torn : scan.bad_offset; }
  DecodeStatus first_status() const { return scan.torn_stretches > 0 ? scan.first_torn_status : scan.bad_status; }
};

std::string salvage_hint(const std::string& dir) {
  const size_t slash = dir.find_last_of('/');
  const std::string data_dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
  return "refusing to start: with the server stopped, run 'busyring-log salvage " + data_dir +
         "' (it keeps a copy of each damaged segment; see README, Recovery)";
}

// Per segment, the first offset at which damage may come from the writes in flight at a crash
// (recovery.h, point 1); UINT64_MAX where none may. Measured back from the log's last nonzero
// byte, in segment `last`.
std::vector<uint64_t> in_flight_from(const std::vector<Segment>& segs, size_t last, const RecoveryOptions& o) {
  std::vector<uint64_t> from(segs.size(), UINT64_MAX);
  if (o.in_flight_bytes == kUnboundedWindow) {
    std::fill(from.begin(), from.end(), 0);
    return from;
  }
  const uint64_t end = segs[last].nonzero_end();
  from[last] = end > o.in_flight_bytes ? end - o.in_flight_bytes : 0;
  uint64_t remaining = end > o.in_flight_bytes ? 0 : o.in_flight_bytes - end;
  for (size_t i = last; i-- > 0 && remaining > 0;) {
    remaining += o.write_bytes;  // the unused tail the writer left at the end of segment i
    from[i] = segs[i].size > remaining ? segs[i].size - remaining : 0;
    remaining = segs[i].size > remaining ? 0 : remaining - segs[i].size;
  }
  return from;
}

// Corruption, or damage that cannot be torn where it lies: the refusal, naming file and offset.
base::Status judge(const std::vector<Segment>& segs, size_t last, const std::vector<uint64_t>& from,
                   const RecoveryOptions& o, const std::string& dir) {
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& s = segs[i];
    if (s.scan.end == SegmentEnd::corrupt)
      return base::Error{"corrupt record in " + s.path + " at offset " + std::to_string(s.scan.bad_offset) + " (" +
                         decode_status_name(s.scan.bad_status) + "), followed by a valid record at offset " +
                         std::to_string(s.scan.next_valid) + "; " + salvage_hint(dir)};
    if (s.scan.torn_stretches > 0 && s.scan.first_torn < from[i]) {
      const std::string where = o.in_flight_bytes == 0 ? "" :
          ", before the last " + std::to_string(o.in_flight_bytes) +
          " bytes of the log that the writes in flight at a crash could have touched";
      return base::Error{"corrupt record in " + s.path + " at offset " + std::to_string(s.scan.first_torn) + " (" +
                         decode_status_name(s.scan.first_torn_status) + "), followed by valid records" + where +
                         "; " + salvage_hint(dir)};
    }
    if (s.scan.end != SegmentEnd::torn || (s.scan.tail_looks_torn && s.scan.bad_offset >= from[i])) continue;
    // A torn tail that valid data follows in a later segment (a torn tail alone is the last write).
    size_t next = i + 1;
    while (next <= last && segs[next].scan.data_end == 0) ++next;
    if (next <= last)
      return base::Error{"torn tail in " + s.path + " at offset " + std::to_string(s.scan.bad_offset) + " (" +
                         decode_status_name(s.scan.bad_status) + ") is followed by records in " + segs[next].path +
                         "; " + salvage_hint(dir)};
  }
  return base::ok_status();
}

// Voids the damage of a segment; returns the aligned offset where appending may resume.
base::Result<uint64_t> void_damage(const Segment& s) {
  MappedFile m;
  if (const int rc = m.open(s.path); rc < 0) return base::Error{"cannot read " + s.path + ": " + errno_text(rc)};
  const size_t size = m.scan_bytes();
  const uint64_t damage = s.first_damage();
  const uint64_t end = s.nonzero_end();
  const uint64_t marker_off = base::align_up(end, s.align);
  const size_t block = base::align_up(record_bytes(0), s.align);
  const size_t buf_bytes = base::align_up(block + size, 4096);
  void* buf = alloc_aligned(buf_bytes);
  if (buf == nullptr) return base::Error{"out of memory voiding a torn tail"};
  auto* b = static_cast<uint8_t*>(buf);
  int rc = 0;
  uint64_t resume = 0;
  if (marker_off + block <= size) {
    encode_record(b, RecordKind::skip, damage, marker_off, nullptr, 0);
    rc = write_direct(s.path, b, block, marker_off);
    resume = marker_off + block;
  } else {
    // Whole aligned blocks: a file cut short of its last block is written to the block's end
    // (zeros past the cut; buf is zero-filled).
    const uint64_t from = base::align_down(damage, s.align);
    const uint64_t to = base::align_up(end, s.align);
    copy_valid_only(m.data(), size, from, std::min<uint64_t>(to, size), damage, b);
    rc = write_direct(s.path, b, to - from, from);
    resume = base::align_up(s.scan.data_end, s.align);
  }
  free_aligned(buf, buf_bytes);
  if (rc < 0) return base::Error{"cannot void the torn tail of " + s.path + ": " + errno_text(rc)};
  return resume;
}

// A sealed segment as its summary describes it: clean, its records ending at records_end.
base::Result<Segment> summarised_segment(const std::string& dir, const SegmentSummary& summary) {
  Segment s;
  s.index = summary.segment;
  s.path = segment_path(dir, summary.segment);
  s.sealed = true;
  auto bytes = segment_read_bytes(dir, summary.segment);
  if (!bytes) return base::Error{bytes.error()};
  s.size = bytes.value() / 8 * 8;  // what the scanner would see (MappedFile::scan_bytes)
  s.scan.records = summary.records;
  s.scan.record_bytes = summary.record_bytes;
  s.scan.data_end = summary.records_end;
  return s;
}

// The first pass: every segment scanned (records reported to the visitor), damage that looks
// torn tolerated anywhere for now (judge() places it), other damage stops at once. A sealed
// segment with a valid summary the visitor takes is not read.
base::Status scan_all(const std::string& dir, const std::vector<uint32_t>& indexes, RecordVisitor* visitor,
                      std::atomic<uint64_t>* scanned_bytes, ShardRecovery& r, std::vector<Segment>& segs) {
  prefetch_summaries(dir, indexes);
  for (const uint32_t index : indexes) {
    SegmentSummary summary;
    const SummaryRead found = find_summary(dir, index, summary);
    if (found == SummaryRead::ok && (visitor == nullptr || visitor->on_summary(summary))) {
      auto sealed = summarised_segment(dir, summary);
      if (!sealed) return base::Error{sealed.error()};
      r.records += summary.records;
      r.record_bytes += summary.record_bytes;
      ++r.summarised;
      // Progress counts the segment as done: the total is every segment's bytes (shard_log_bytes).
      if (scanned_bytes != nullptr) scanned_bytes->fetch_add(sealed.value().size, std::memory_order_relaxed);
      segs.push_back(std::move(sealed.value()));
      continue;
    }
    Segment s;
    s.index = index;
    s.path = segment_path(dir, index);
    s.had_summary = found == SummaryRead::ok;
    MappedFile m;
    // populated: the scan reads every page
    if (const int rc = m.open(s.path, true); rc < 0)
      return base::Error{rc == -EBADMSG ? "cannot read " + m.problem() +
                                              "; refusing to start: restore that compacted segment from a backup "
                                              "(README, Compaction)"
                                        : "cannot read " + s.path + ": " + errno_text(rc)};
    s.size = m.scan_bytes();
    SummarisingVisitor summarising(visitor, index);
    s.scan = scan_segment(m.data(), m.scan_bytes(), &summarising, 0);
    s.builder = std::move(summarising.builder);
    r.bytes_scanned += m.scan_bytes();
    if (scanned_bytes != nullptr) scanned_bytes->fetch_add(m.scan_bytes(), std::memory_order_relaxed);
    r.records += s.scan.records;
    r.record_bytes += s.scan.record_bytes;
    DioAlign align;
    if (m.compacted()) {
      align.offset = 4096;  // sealed and never written again; a multiple of every alignment
    } else if (const int rc = dio_alignment(s.path, align); rc < 0) {
      return base::Error{"cannot use direct I/O on " + s.path + ": " + errno_text(rc)};
    }
    s.align = align.offset;
    const bool corrupt = s.scan.end == SegmentEnd::corrupt;
    segs.push_back(std::move(s));
    if (corrupt) return base::ok_status();  // judge() names it
  }
  return base::ok_status();
}

// The summary of the segment appending resumes in goes to the writer; with repair, the sealed
// segments that had to be scanned get theirs written.
void finish_summaries(const std::string& dir, bool repair, std::vector<Segment>& segs, ShardRecovery& r) {
  std::vector<ScannedSegment> scanned;
  for (Segment& s : segs) {
    if (s.sealed) continue;
    if (s.index == r.position.segment) r.resumed = s.builder;
    if (repair) scanned.push_back(ScannedSegment{std::move(s.builder), s.had_summary});
  }
  if (repair) r.summaries_written = write_missing_summaries(dir, scanned, r.position.segment);
}

}  // namespace

uint64_t shard_log_bytes(const std::string& dir) {
  std::vector<uint32_t> segments;
  if (list_segments(dir, segments) < 0) return 0;
  uint64_t total = 0;
  for (const uint32_t index : segments) {
    // As scan_all counts it: the scanner's bytes of the segment, a vanished one 0.
    if (auto bytes = segment_read_bytes(dir, index)) total += bytes.value() / 8 * 8;
  }
  return total;
}

RecoveryOptions server_recovery_options(uint32_t log_writes, uint32_t max_body, bool durable) {
  RecoveryOptions o;
  o.repair = true;
  o.write_bytes = base::align_up(std::max<uint64_t>(WriterOptions{}.buffer_bytes, record_bytes(max_body)), 4096);
  o.in_flight_bytes = durable ? uint64_t{log_writes} * o.write_bytes : kUnboundedWindow;
  return o;
}

base::Result<ShardRecovery> recover_shard(const std::string& dir, bool repair, RecordVisitor* visitor) {
  RecoveryOptions o;
  o.repair = repair;
  return recover_shard(dir, o, visitor);
}

base::Result<ShardRecovery> recover_shard(const std::string& dir, const RecoveryOptions& options,
                                          RecordVisitor* visitor) {
  ShardRecovery r;
  std::vector<uint32_t> indexes;
  const int rc = list_segments(dir, indexes);
  if (rc == -ENOENT) return r;
  if (rc < 0) return base::Error{"cannot list " + dir + ": " + errno_text(rc)};
  r.segments = static_cast<uint32_t>(indexes.size());
  std::vector<Segment> segs;
  if (auto st = scan_all(dir, indexes, visitor, options.scanned_bytes, r, segs); !st) return base::Error{st.error()};
  size_t last = segs.size();
  for (size_t i = segs.size(); i-- > 0;)
    if (segs[i].has_data() || segs[i].sealed || segs[i].scan.end == SegmentEnd::corrupt) {
      last = i;
      break;
    }
  if (last == segs.size()) return r;  // nothing written yet: append at the start of the first
  const std::vector<uint64_t> from = in_flight_from(segs, last, options);
  if (auto st = judge(segs, last, from, options, dir); !st) return base::Error{st.error()};

  const Segment* first_damaged = nullptr;
  for (const Segment& s : segs) {
    if (s.sealed) {
      r.position = AppendPosition{s.index + 1, 0};
      continue;
    }
    if (!s.has_data()) continue;
    r.position.segment = s.index;
    r.position.offset = base::align_up(s.scan.data_end, s.align);
    if (s.damaged()) {
      if (first_damaged == nullptr) first_damaged = &s;
      r.kept_after_damage += s.scan.records_after_torn;
      r.torn_bytes += s.nonzero_end() - s.first_damage();
      if (options.repair) {
        auto voided = void_damage(s);
        if (!voided) return base::Error{voided.error()};
        r.position.offset = voided.value();
        ++r.torn_tails;
      }
    }
    if (r.position.offset >= s.size) {
      r.position.segment = s.index + 1;
      r.position.offset = 0;
    }
  }
  if (r.torn_tails > 0) {
    char kept[96] = "";
    if (r.kept_after_damage > 0)
      std::snprintf(kept, sizeof kept, ", the %llu valid records among them kept",
                    static_cast<unsigned long long>(r.kept_after_damage));
    BR_LOG_WARN("recovery: torn tail in %s at offset %llu (%s): %llu bytes voided in %u segment(s)%s; writes in "
                "flight at the last stop that did not all reach the disk, none of them acknowledged",
                first_damaged->path.c_str(), static_cast<unsigned long long>(first_damaged->first_damage()),
                decode_status_name(first_damaged->first_status()), static_cast<unsigned long long>(r.torn_bytes),
                r.torn_tails, kept);
  }
  finish_summaries(dir, options.repair, segs, r);
  return r;
}

}  // namespace busyring::storage
