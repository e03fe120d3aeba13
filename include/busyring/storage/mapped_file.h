// A read-only mapping of one whole regular file (RAII): how recovery and the log tool read
// segments (the scanner wants one contiguous view; the page cache does the reading).
// A segment that was compacted (compact_segment.h: seg-N.log replaced by seg-N.zlog) opens by
// its .log name all the same: when the .log is gone and the .zlog is there, the mapping is the
// decompressed segment, byte for byte and offset for offset what the .log held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace busyring::storage {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps `path` (an empty file maps nothing and is fine), unmapping any earlier file. 0, or
  // -errno: -EISDIR for a directory, -EINVAL for anything else that is not a regular file,
  // -EBADMSG for a compacted segment that fails its checks (problem() says what).
  // populate: read every page in now (MAP_POPULATE), for a caller about to read it all.
  [[nodiscard]] int open(const std::string& path, bool populate = false);
  void close() noexcept;

  const uint8_t* data() const noexcept { return data_; }  // null when nothing is mapped
  uint64_t file_bytes() const noexcept { return file_bytes_; }
  // What the scanner sees: records and padding are in 8-byte units, a torn rest is not.
  size_t scan_bytes() const noexcept { return static_cast<size_t>(file_bytes_ / 8 * 8); }
  // Whether the mapping is a compacted segment's decompressed bytes.
  bool compacted() const noexcept { return compacted_; }
  // After -EBADMSG: the compacted file and what is wrong with it.
  const std::string& problem() const noexcept { return problem_; }

 private:
  [[nodiscard]] int open_compacted(const std::string& path);

  const uint8_t* data_ = nullptr;
  uint64_t file_bytes_ = 0;
  bool compacted_ = false;
  std::string problem_;
};

}  // namespace busyring::storage
