// DATA_DIR/retired: what `busyring-log retire` removed, so that the server never takes a
// retired segment for a lost one, nor the ids it held for holes to issue again (issue 17 §1).
// Written only by the tool (the whole file replaced durably: temp file, fsync, rename,
// directory fsync) before it deletes anything; read by the server at start-up. Text:
//
//   busyring-retired 1
//   shard 0 through 41      <- segments 0..41 of shard-00 were retired (retire takes a prefix)
//   ids 1 5123456           <- ids 1..5123456 (inclusive) lie in retired segments' id spans:
//   end 2                      never holes, never issued again (spans merged when they touch)
//
// A retired segment's span is [its lowest id, its highest id]. Holes inside a span (an id that
// was never acknowledged, between ids of other shards) are given up rather than issued again:
// the file stays a few lines however much is retired, and a lost id costs density, never
// uniqueness.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/result.h"

namespace busyring::storage {

inline constexpr const char* kRetiredFile = "retired";

struct RetiredShard {
  uint32_t shard = 0;
  uint32_t through = 0;  // segments 0..through were retired
};

struct RetiredIds {
  uint64_t first = 0;  // inclusive
  uint64_t last = 0;   // inclusive
};

struct RetiredLog {
  std::vector<RetiredShard> shards;  // ascending by shard, one entry each
  std::vector<RetiredIds> ids;       // ascending, disjoint, not touching

  // The last retired segment of `shard`, or -1 when none was.
  int64_t through(uint32_t shard) const noexcept;
  // Records segments 0..through of `shard` as retired.
  void retire_through(uint32_t shard, uint32_t through);
  // Adds [first, last] to the id spans, merging what overlaps or touches.
  void add_ids(uint64_t first, uint64_t last);
  // The highest retired id, 0 when none.
  uint64_t max_id() const noexcept { return ids.empty() ? 0 : ids.back().last; }
};

std::string retired_path(const std::string& data_dir);

[[nodiscard]] std::string format_retired(const RetiredLog& log);
// The error names the line and what it wants.
[[nodiscard]] base::Result<RetiredLog> parse_retired(const std::string& text);
// DATA_DIR/retired; an empty log when the file does not exist. The error is one sentence.
[[nodiscard]] base::Result<RetiredLog> load_retired(const std::string& data_dir);
// Replaces DATA_DIR/retired durably (see the top of this file).
[[nodiscard]] base::Status save_retired(const std::string& data_dir, const RetiredLog& log);

}  // namespace busyring::storage
