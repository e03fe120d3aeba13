// The second half of every export: an index of (id, where) entries, sorted by id, read back
// record by record through a RecordFetcher and written as JSONL or CSV lines. Shared by the
// whole-log export and the export since a checkpoint. Memory: 16 bytes per entry and the
// fetcher's fixed windows.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "body.h"
#include "options.h"
#include "progress.h"

namespace busyring::logtool {

inline constexpr uint64_t kOffsetBits = 40;  // 1 TiB per segment
inline constexpr uint64_t kMaxFiles = 1ull << 24;

struct IndexEntry {
  uint64_t id;
  uint64_t location;  // file number << kOffsetBits | offset
  bool operator<(const IndexEntry& o) const { return id != o.id ? id < o.id : location < o.location; }
};
static_assert(sizeof(IndexEntry) == 16);

// A segment file that entries point into (its number is its index in the vector).
struct FileRef {
  std::string path;
  uint32_t shard = 0;
};

// True when (file number, offset) fits an IndexEntry location.
inline bool fits_location(size_t file, uint64_t offset) { return file < kMaxFiles && offset >> kOffsetBits == 0; }

// Sorts entries by id and writes their records to out (CSV: the header first, even with no
// records). 0 ok; 1 after one error line on err (a record that no longer decodes, a body that
// is not a JSON object, stdout failing); the lines before the failure have been written.
// With `progress`, it advances by one per record written (and is cleared before output).
int write_records(std::vector<IndexEntry>& entries, const std::vector<FileRef>& files, Format format,
                  BodyParser& bodies, std::FILE* out, std::FILE* err, ProgressLine* progress = nullptr);

}  // namespace busyring::logtool
