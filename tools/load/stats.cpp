// Stats: error-kind names and merging of per-worker counters.
#include "stats.h"

namespace busyring::load {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::connect: return "connect";
    case ErrorKind::read: return "read";
    case ErrorKind::write: return "write";
    case ErrorKind::status: return "status";
    case ErrorKind::malformed: return "malformed";
    case ErrorKind::timeout: return "timeout";
  }
  return "?";
}

uint64_t Stats::error_total() const noexcept {
  uint64_t total = 0;
  for (uint64_t n : errors) total += n;
  return total;
}

void Stats::merge(const Stats& other) noexcept {
  sent += other.sent;
  responses += other.responses;
  ok += other.ok;
  ids += other.ids;
  missed += other.missed;
  for (uint32_t i = 0; i < error_kind_count; i++) errors[i] += other.errors[i];
  for (uint32_t i = 0; i < by_status.size(); i++) by_status[i] += other.by_status[i];
}

}  // namespace busyring::load
