// The summary of a sealed segment: what start-up recovery needs from it, so that it need not
// read the segment. A sidecar file next to the segment, DATA_DIR/shard-KK/seg-NNNNNNNN.summary
// (format version 1, little-endian; documented in README "Recovery"):
//
//   off size field
//    0   8   magic          "BRSUMM01"
//    8   4   version        1
//   12   4   segment        the segment's index (a summary copied next to another segment fails)
//   16   8   records        usage records in the segment
//   24   8   record_bytes   their bytes, headers and padding included
//   32   8   records_end    file offset one past the last usage record (0 if none)
//   40   4   span_count     n
//   44   4   crc32c         CRC32C of the whole file with this field zero
//   48   4   spans_bytes    length of the span list
//   52   4   reserved       0
//   56   ..  spans          [first, end) id ranges holding every id in the segment: ascending,
//                           disjoint, not touching (ids are issued in --id-block runs, so a
//                           segment's ids are a few thousand ranges, not one per record), each
//                           as two LEB128 varints: first - (the previous end, or 0), end - first
//                           (2 to 4 bytes a span instead of 16: start-up reads every summary)
//
// Why a sidecar rather than a trailer in the segment's tail: a segment is fixed-size and
// pre-zeroed, its records may run to its last sector, and a summary's size depends on its ids;
// a trailer would need reserved room and would look like a torn tail to every scanner. A
// sidecar is written and made durable on its own (tmp, fsync, rename, directory fsync) and
// changes nothing in the segment format.
//
// A summary is an optimisation, never trusted without its checksum: a missing or invalid one
// means the segment is scanned. A summary exists only for a sealed segment (the writer moved
// past it), so appending never resumes in a segment that has one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace busyring::storage {

struct IdSpan {
  uint64_t first = 0;
  uint64_t end = 0;  // one past the last id
  bool operator==(const IdSpan&) const = default;
};

struct SegmentSummary {
  uint32_t segment = 0;
  uint64_t records = 0;
  uint64_t record_bytes = 0;
  uint64_t records_end = 0;
  std::vector<IdSpan> ids;  // ascending, disjoint, not touching
  bool operator==(const SegmentSummary&) const = default;
};

inline constexpr uint64_t kSummaryMagic = 0x31304d4d55535242ull;  // "BRSUMM01"
inline constexpr uint32_t kSummaryVersion = 1;
inline constexpr size_t kSummaryHeaderBytes = 56;
// More spans than this (ids scattered record by record, e.g. --id-block 1 on many shards): no
// summary, the segment is scanned. Bounds a summary file to about 2 MiB.
inline constexpr size_t kMaxSummarySpans = 65536;
inline constexpr size_t kMaxSummaryBytes = kSummaryHeaderBytes + kMaxSummarySpans * 2 * 10;

std::string summary_path(const std::string& shard_dir, uint32_t segment);

// Sum of the spans' sizes: below `records` when an id appears twice in the segment.
uint64_t span_ids(const std::vector<IdSpan>& spans) noexcept;

// Builds a segment's summary record by record, in log order. Ids arrive mostly ascending in
// runs; each run is one span until finish() sorts and merges them.
class SummaryBuilder {
 public:
  // A default builder is not complete: it knows no segment's start.
  SummaryBuilder() = default;
  // Starts segment `segment` with no records; keeps the span storage.
  void reset(uint32_t segment);
  // Records of this segment went unseen: no summary for it.
  void abandon() noexcept { complete_ = false; }
  void reserve(size_t spans) { summary_.ids.reserve(spans); }
  void add(uint64_t id, uint64_t offset, uint64_t bytes) noexcept;
  // Too many spans, or a start that was not summarised: no summary for this segment.
  bool complete() const noexcept { return complete_; }
  uint32_t segment() const noexcept { return summary_.segment; }
  uint64_t records() const noexcept { return summary_.records; }
  // The summary, spans sorted and merged.
  SegmentSummary finish() const;

 private:
  SegmentSummary summary_;  // spans in arrival order, unmerged
  bool complete_ = false;
};

// The file's bytes for `s` (spans as finish() leaves them).
std::vector<uint8_t> encode_summary(const SegmentSummary& s);

// Decodes a summary file's bytes. False (with `why` set) for anything but a well-formed
// version-1 summary of segment `segment` whose CRC matches.
[[nodiscard]] bool decode_summary(const uint8_t* data, size_t bytes, uint32_t segment, SegmentSummary& out,
                                  std::string& why);

enum class SummaryRead : uint8_t { ok, missing, invalid };

// Reads and decodes summary_path(dir, segment) (plain blocking I/O: start-up and tools).
SummaryRead read_summary(const std::string& shard_dir, uint32_t segment, SegmentSummary& out, std::string& why);

// Writes the summary durably (tmp, fsync, rename, directory fsync): start-up, for sealed
// segments it had to scan. 0 or -errno.
[[nodiscard]] int write_summary_sync(const std::string& shard_dir, const SegmentSummary& s);

}  // namespace busyring::storage
