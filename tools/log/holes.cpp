// Hole and duplicate counting over sorted ids; see holes.h. Id 0 is never issued: a record
// carrying it counts as a record but not as filling a hole.
#include "holes.h"

#include <algorithm>

namespace busyring::logtool {

IdSummary summarize_ids(std::vector<uint64_t>& ids, size_t max_ranges) {
  std::sort(ids.begin(), ids.end());
  IdSummary s;
  s.records = ids.size();
  if (ids.empty()) return s;
  s.max_id = ids.back();
  uint64_t next = 1;  // the lowest id not yet accounted for
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    if (i > 0 && id == ids[i - 1]) {
      ++s.duplicates;
      continue;
    }
    if (id == 0) continue;
    if (id > next) {
      s.hole_ids += id - next;
      ++s.hole_ranges;
      if (s.holes.size() < max_ranges) s.holes.push_back(IdRange{next, id - 1});
    }
    next = id + 1;
  }
  return s;
}

double density(const IdSummary& s) {
  if (s.max_id == 0) return 0.0;
  return static_cast<double>(s.records) / static_cast<double>(s.max_id);
}

}  // namespace busyring::logtool
