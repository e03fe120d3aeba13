// Reading single records back by (file, offset) for export's second pass: a few windows of
// file bytes, each a bounded buffer filled by pread, reused least-recently-first. Records are
// decoded (and their CRC checked again) with storage::decode_record. Memory: kWindows windows
// of kWindowBytes (grown to one record when a record is larger), whatever the log's size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "busyring/storage/mapped_file.h"
#include "busyring/storage/record.h"

namespace busyring::logtool {

class RecordFetcher {
 public:
  static constexpr size_t kWindows = 8;
  static constexpr size_t kWindowBytes = 256 * 1024;

  RecordFetcher() = default;
  ~RecordFetcher();
  RecordFetcher(const RecordFetcher&) = delete;
  RecordFetcher& operator=(const RecordFetcher&) = delete;

  // The record at `offset` of file number `file` (named `path`). The view is valid until the
  // next call. False (and *error, one sentence) when it cannot be read or decoded.
  [[nodiscard]] bool fetch(uint32_t file, const std::string& path, uint64_t offset, storage::RecordView& out,
                           std::string* error);

 private:
  struct Window {
    int fd = -1;
    uint32_t file = UINT32_MAX;
    uint64_t file_bytes = 0;
    uint64_t start = 0;
    size_t len = 0;
    uint64_t last_use = 0;
    std::vector<uint8_t> buf;  // decode_record reads with memcpy: no alignment needed
    // A compacted segment (no .log to pread): its decompressed bytes, copied from instead.
    std::unique_ptr<storage::MappedFile> compacted;
  };

  Window* window_for(uint32_t file, const std::string& path, std::string* error);
  bool fill(Window& w, const std::string& path, uint64_t offset, size_t need, std::string* error);

  Window windows_[kWindows];
  uint64_t clock_ = 0;
};

}  // namespace busyring::logtool
