// Id accounting for stats: from every id found in the logs, the highest, the duplicates (an
// id on disk twice breaks the promise) and the holes in [1, max] as ranges. Works on a sorted
// vector of ids: 8 bytes per record, whatever the ids' spread (a bitmap would grow with max).
// Ids in the spans of retired segments (DATA_DIR/retired, storage/retired.h) that no record on
// disk carries are counted as retired: exported and deleted, or given up inside a span, never
// issued again; so they are neither holes nor missing records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace busyring::logtool {

struct IdRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  bool operator==(const IdRange&) const = default;
};

struct IdSummary {
  uint64_t records = 0;  // ids seen, duplicates included
  uint64_t max_id = 0;
  uint64_t duplicates = 0;  // records whose id an earlier record already had
  uint64_t hole_ids = 0;    // ids in [1, max_id] that no record carries, outside retired spans
  uint64_t hole_ranges = 0;
  uint64_t retired_ids = 0;  // ids in retired spans that no record on disk carries
  std::vector<IdRange> holes;  // the first `max_ranges` ranges, ascending
};

// Sorts ids in place and summarises them; keeps at most max_ranges hole ranges. `retired`:
// ascending, disjoint spans; max_id covers them too.
IdSummary summarize_ids(std::vector<uint64_t>& ids, size_t max_ranges, const std::vector<IdRange>& retired = {});

// (records + retired ids) / max_id: the part of [1, max_id] that is not a hole; 0 when there
// is no id.
double density(const IdSummary& s);

}  // namespace busyring::logtool
