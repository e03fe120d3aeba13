// Hole and duplicate counting over sorted ids; see holes.h. Id 0 is never issued: a record
// carrying it counts as a record but not as filling a hole.
#include "holes.h"

#include <algorithm>

namespace busyring::logtool {

namespace {

// Accounts the ids [first, last] that no record carries: those inside retired spans are
// retired, the rest holes (as ranges). Gaps come in ascending order, so `span` only advances.
class GapCounter {
 public:
  GapCounter(IdSummary& s, size_t max_ranges, const std::vector<IdRange>& retired)
      : s_(s), max_ranges_(max_ranges), retired_(retired) {}

  void gap(uint64_t first, uint64_t last) {
    while (first <= last) {
      while (span_ < retired_.size() && retired_[span_].last < first) ++span_;
      if (span_ == retired_.size() || retired_[span_].first > last) return hole(first, last);
      const IdRange& r = retired_[span_];
      if (r.first > first) hole(first, r.first - 1);
      const uint64_t end = std::min(last, r.last);
      s_.retired_ids += end - std::max(first, r.first) + 1;
      if (end == last) return;
      first = end + 1;
    }
  }

 private:
  void hole(uint64_t first, uint64_t last) {
    s_.hole_ids += last - first + 1;
    ++s_.hole_ranges;
    if (s_.holes.size() < max_ranges_) s_.holes.push_back(IdRange{first, last});
  }

  IdSummary& s_;
  size_t max_ranges_;
  const std::vector<IdRange>& retired_;
  size_t span_ = 0;
};

}  // namespace

IdSummary summarize_ids(std::vector<uint64_t>& ids, size_t max_ranges, const std::vector<IdRange>& retired) {
  std::sort(ids.begin(), ids.end());
  IdSummary s;
  s.records = ids.size();
  s.max_id = std::max(ids.empty() ? 0 : ids.back(), retired.empty() ? 0 : retired.back().last);
  GapCounter gaps(s, max_ranges, retired);
  uint64_t next = 1;  // the lowest id not yet accounted for
  for (size_t i = 0; i < ids.size(); ++i) {
    const uint64_t id = ids[i];
    if (i > 0 && id == ids[i - 1]) {
      ++s.duplicates;
      continue;
    }
    if (id == 0) continue;
    if (id > next) gaps.gap(next, id - 1);
    next = id + 1;
  }
  // Past the highest id on disk: retired spans (next is 0 when that id was UINT64_MAX).
  if (next != 0 && s.max_id >= next) gaps.gap(next, s.max_id);
  return s;
}

double density(const IdSummary& s) {
  if (s.max_id == 0) return 0.0;
  return static_cast<double>(s.records + s.retired_ids) / static_cast<double>(s.max_id);
}

}  // namespace busyring::logtool
