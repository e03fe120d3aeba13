// Recovery's use of segment summaries (private to storage): take a sealed segment's summary in
// place of scanning it, build the summary of a segment while scanning it, and write the
// summaries that sealed segments lack.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/storage/scan.h"
#include "busyring/storage/segment_summary.h"

namespace busyring::storage {

// Asks the kernel to start reading every segment's summary file at once (POSIX_FADV_WILLNEED),
// so that recovery, which reads them one by one, mostly finds them in memory: on a cold cache
// each one read alone waits a disk round trip.
void prefetch_summaries(const std::string& dir, const std::vector<uint32_t>& segments);

// Summary of segment `index` if it has a valid one; logs an invalid one (then scanned).
SummaryRead find_summary(const std::string& dir, uint32_t index, SegmentSummary& out);

// Forwards every record to the caller's visitor and notes it in a summary of the segment.
class SummarisingVisitor final : public RecordVisitor {
 public:
  SummarisingVisitor(RecordVisitor* inner, uint32_t segment) : inner_(inner) { builder.reset(segment); }
  bool on_record(const RecordView& record, uint64_t offset) override;
  SummaryBuilder builder;  // abandoned when the caller's visitor stopped the scan early

 private:
  RecordVisitor* inner_;
};

// A segment that was scanned at start-up: its summary, and whether a valid file had it already.
struct ScannedSegment {
  SummaryBuilder builder;
  bool had_summary = false;
};

// Writes the summary of every scanned segment before `resume_segment` (sealed: appending never
// returns to it) that had none. A failure is logged: that segment is scanned again next time.
// Returns how many were written.
uint32_t write_missing_summaries(const std::string& dir, const std::vector<ScannedSegment>& scanned,
                                 uint32_t resume_segment);

}  // namespace busyring::storage
