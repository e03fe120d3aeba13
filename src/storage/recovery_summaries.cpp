// Recovery and segment summaries; see recovery_summaries.h.
#include "recovery_summaries.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "busyring/base/log.h"

namespace busyring::storage {

void prefetch_summaries(const std::string& dir, const std::vector<uint32_t>& segments) {
  for (const uint32_t index : segments) {
    const int fd = open(summary_path(dir, index).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // none: the segment is scanned
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
    close(fd);
  }
}

SummaryRead find_summary(const std::string& dir, uint32_t index, SegmentSummary& out) {
  std::string why;
  const SummaryRead r = read_summary(dir, index, out, why);
  if (r == SummaryRead::invalid)
    BR_LOG_WARN("recovery: ignoring %s (%s): scanning the segment instead", summary_path(dir, index).c_str(),
                why.c_str());
  return r;
}

bool SummarisingVisitor::on_record(const RecordView& record, uint64_t offset) {
  builder.add(record.id, offset, record.record_bytes);
  if (inner_ == nullptr || inner_->on_record(record, offset)) return true;
  builder.abandon();
  return false;
}

uint32_t write_missing_summaries(const std::string& dir, const std::vector<ScannedSegment>& scanned,
                                 uint32_t resume_segment) {
  uint32_t written = 0;
  for (const ScannedSegment& s : scanned) {
    if (s.had_summary || !s.builder.complete() || s.builder.segment() >= resume_segment) continue;
    if (const int rc = write_summary_sync(dir, s.builder.finish()); rc < 0) {
      BR_LOG_WARN("recovery: cannot write %s (%s); the segment will be scanned again at the next start",
                  summary_path(dir, s.builder.segment()).c_str(), std::strerror(-rc));
      continue;
    }
    ++written;
  }
  return written;
}

}  // namespace busyring::storage
