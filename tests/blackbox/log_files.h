// Byte-level access to a stopped server's log files for the damage tests: read and write
// whole files, list a shard's segments with every record's offset (scanned with the server's
// own codec), and copy a shard's segments into another data dir.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace blackbox {

std::vector<uint8_t> read_bytes(const std::string& path);
// Creates or replaces path with exactly `bytes`.
void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes);
// Overwrites [offset, offset + len) of an existing file.
void write_at(const std::string& path, const void* bytes, size_t len, uint64_t offset);

struct RecordAt {
  uint64_t offset = 0;      // file offset of the header
  uint64_t id = 0;
  std::string body;
  uint32_t body_bytes = 0;
  uint64_t record_bytes = 0;  // header + body + padding
  // One past the last byte the CRC covers: a cut at or after it leaves the record intact.
  uint64_t meaningful_end() const { return offset + 32 + body_bytes; }
};

struct SegmentFile {
  uint32_t index = 0;
  std::string path;
  std::vector<uint8_t> bytes;
  std::vector<RecordAt> records;  // the usage records, in file order
  uint64_t data_end = 0;          // end of the last valid record
};

// Every segment of data_dir/shard-KK, in order, with its records; REQUIREs that each scans
// clean (the tests damage logs only after reading them).
std::vector<SegmentFile> read_shard(const std::string& data_dir, uint32_t shard);

// Writes `segments` as data_dir/shard-KK/seg-*.log (creating the directories), byte for byte
// (the zero tail as a hole).
void write_shard(const std::string& data_dir, uint32_t shard, const std::vector<SegmentFile>& segments);

// Redirects this process's stderr (fd 2) into a temporary file for the life of the object, so
// in-process recovery can be run hundreds of times without flooding the test output; text()
// returns what was written so far.
class CapturedStderr {
 public:
  CapturedStderr();
  ~CapturedStderr();
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;
  std::string text() const;

 private:
  int saved_fd_ = -1;
  int file_fd_ = -1;
};

}  // namespace blackbox
