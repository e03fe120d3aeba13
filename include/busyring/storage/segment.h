// Segment files: naming, direct-I/O alignment, and synchronous creation of zero-filled
// segments. Layout: DATA_DIR/shard-KK/seg-NNNNNNNN.log, each exactly segment_size bytes,
// zero-filled and fsynced before the first record goes in (so a durable write into it is a
// data write and nothing else). Functions return >= 0 or -errno.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/result.h"

namespace busyring::storage {

std::string shard_dir(const std::string& data_dir, uint32_t shard);
std::string segment_path(const std::string& dir, uint32_t index);

// Shard numbers of the shard-KK directories in data_dir, sorted.
[[nodiscard]] int list_shards(const std::string& data_dir, std::vector<uint32_t>& out);
// Segment indexes of a shard directory, sorted: its seg-*.log files and its compacted
// seg-*.zlog ones (compact_segment.h; MappedFile opens those by their .log name), each once.
[[nodiscard]] int list_segments(const std::string& dir, std::vector<uint32_t>& out);
// Segment indexes of the seg-*.summary files (segment_summary.h) in a shard directory, sorted.
[[nodiscard]] int list_summaries(const std::string& dir, std::vector<uint32_t>& out);
// Only the compacted ones (seg-*.zlog), sorted.
[[nodiscard]] int list_compacted_segments(const std::string& dir, std::vector<uint32_t>& out);

// Bytes segment `index` of a shard directory takes on disk: its .log's size, else its
// compacted .zlog's, else 0.
uint64_t segment_disk_bytes(const std::string& dir, uint32_t index);

// Bytes segment `index` of a shard directory reads as, what MappedFile maps for its .log name
// (the one place that answers it: recovery's progress and sealed segments, the log tool's
// progress): its .log's size, else, compacted, the original size its .zlog's header records
// (compact_segment.h). An error (one line naming the files) when neither can be read.
[[nodiscard]] base::Result<uint64_t> segment_read_bytes(const std::string& dir, uint32_t index);

struct DioAlign {
  uint32_t memory = 0;  // buffer address alignment
  uint32_t offset = 0;  // file offset and length alignment
};
// STATX_DIOALIGN of an open file; -EOPNOTSUPP when the filesystem cannot do direct I/O.
[[nodiscard]] int dio_alignment(const std::string& path, DioAlign& out);

// Creates dir (and parents) if missing; fsyncs the parent of each created directory.
[[nodiscard]] int make_dirs(const std::string& dir);

// Creates `path` as `bytes` of zeros written and fsynced, via a temporary name renamed into
// place, so a segment file that exists is always complete.
[[nodiscard]] int create_segment_sync(const std::string& path, uint64_t bytes);

// Opens a segment for appending with O_DIRECT, plus O_DSYNC when `dsync`.
[[nodiscard]] int open_segment(const std::string& path, bool dsync);

// Memory aligned for direct I/O (page-aligned mmap; zeroed). Freed with free_aligned.
void* alloc_aligned(size_t bytes) noexcept;
void free_aligned(void* p, size_t bytes) noexcept;

}  // namespace busyring::storage
