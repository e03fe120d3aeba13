// Builds a retained log for perf/startup_bench directly with the storage code (no HTTP): per
// shard, `sealed` full segments, one half-full open segment and one prepared empty segment,
// records of the seed's 99-byte body gathered 8 to a write and each write padded to 512 bytes
// as the server does, ids dealt in blocks of --id-block round-robin over the shards as the
// shared counter deals them. Real bytes, fsynced (no sparse files: a scan reads them). No
// summaries: the first start of a server that knows them writes them (and is timed apart).
//   log_gen DATA_DIR SHARDS SEALED_PER_SHARD SEGMENT_BYTES ID_BLOCK [--summaries-only]
//   log_gen --evict DATA_DIR     drop the log's pages from the page cache (cold start)
// --summaries-only: each sealed segment is a sparse file of its size plus the summary the
// server would have written for it (same ids, offsets and bytes). Only for timing a server
// that reads summaries: it never reads a summarised segment, so this measures its cost per
// sealed segment on many segments without writing them all; a scan would read zeros.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "busyring/storage/record.h"
#include "busyring/storage/segment.h"
#include "busyring/storage/segment_summary.h"

using namespace busyring::storage;

namespace {

const char kBody[] =
    "{\"patientId\":\"100\",\"timestamp\":\"Tue Nov 01 2016 09:11:51 GMT-0500 (CDT)\",\"medication\":\"Albuterol\"}";
constexpr uint32_t kBodyBytes = sizeof kBody - 1;
constexpr size_t kWriteAlign = 512;
constexpr int kRecordsPerWrite = 8;

// Ids of one shard, in the order that shard issues them.
struct ShardIds {
  uint64_t shard, shards, block, next_block, in_block = 0;
  uint64_t next() {
    const uint64_t id = 1 + (next_block * shards + shard) * block + in_block;
    if (++in_block == block) {
      in_block = 0;
      ++next_block;
    }
    return id;
  }
};

// Fills `image` (zeroed) up to `limit` bytes with records; returns the bytes used.
size_t fill(std::vector<uint8_t>& image, size_t limit, ShardIds& ids) {
  const size_t rec = record_bytes(kBodyBytes);
  size_t pos = 0;
  while (true) {
    const size_t write_bytes = (kRecordsPerWrite * rec + kWriteAlign - 1) / kWriteAlign * kWriteAlign;
    if (pos + write_bytes > limit) return pos;
    for (int i = 0; i < kRecordsPerWrite; ++i)
      encode_record(image.data() + pos + i * rec, RecordKind::usage, ids.next(), 1, kBody, kBodyBytes);
    pos += write_bytes;
  }
}

// The summary of what fill() would put in a segment of `limit` bytes, without the bytes.
SegmentSummary summarise(uint32_t segment, size_t limit, ShardIds& ids) {
  const size_t rec = record_bytes(kBodyBytes);
  const size_t write_bytes = (kRecordsPerWrite * rec + kWriteAlign - 1) / kWriteAlign * kWriteAlign;
  SummaryBuilder b;
  b.reset(segment);
  for (size_t pos = 0; pos + write_bytes <= limit; pos += write_bytes)
    for (int i = 0; i < kRecordsPerWrite; ++i) b.add(ids.next(), pos + i * rec, rec);
  return b.finish();
}

void sparse_file(const std::string& path, size_t bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(bytes)) != 0) std::exit(1);
  close(fd);
}

void write_file(const std::string& path, const std::vector<uint8_t>& image) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || pwrite(fd, image.data(), image.size(), 0) != static_cast<ssize_t>(image.size()) || fsync(fd) != 0) {
    std::fprintf(stderr, "log_gen: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    std::exit(1);
  }
  close(fd);
}

void evict(const std::string& data_dir) {
  std::vector<uint32_t> shards;
  if (list_shards(data_dir, shards) < 0) std::exit(1);
  for (const uint32_t k : shards) {
    const std::string dir = shard_dir(data_dir, k);
    DIR* d = opendir(dir.c_str());
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const int fd = open((dir + "/" + e->d_name).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      fdatasync(fd);
      posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      close(fd);
    }
    closedir(d);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--evict") == 0) {
    evict(argv[2]);
    return 0;
  }
  const bool summaries_only = argc == 7 && std::strcmp(argv[6], "--summaries-only") == 0;
  if (argc != 6 && !summaries_only) {
    std::fprintf(stderr, "usage: log_gen DATA_DIR SHARDS SEALED_PER_SHARD SEGMENT_BYTES ID_BLOCK [--summaries-only]"
                         " | --evict DATA_DIR\n");
    return 2;
  }
  const std::string data_dir = argv[1];
  const uint64_t shards = std::strtoull(argv[2], nullptr, 10), sealed = std::strtoull(argv[3], nullptr, 10);
  const size_t segment = std::strtoull(argv[4], nullptr, 10);
  const uint64_t block = std::strtoull(argv[5], nullptr, 10);
  for (uint64_t k = 0; k < shards; ++k) {
    const std::string dir = shard_dir(data_dir, static_cast<uint32_t>(k));
    if (make_dirs(dir) < 0) return 1;
    ShardIds ids{k, shards, block, 0};
    std::vector<uint8_t> image(segment);
    for (uint64_t s = 0; s <= sealed + 1; ++s) {
      if (summaries_only && s < sealed) {
        sparse_file(segment_path(dir, static_cast<uint32_t>(s)), segment);
        if (write_summary_sync(dir, summarise(static_cast<uint32_t>(s), segment, ids)) != 0) return 1;
        continue;
      }
      std::memset(image.data(), 0, segment);
      if (s < sealed) fill(image, segment, ids);             // sealed: full
      else if (s == sealed) fill(image, segment / 2, ids);   // open: half full
      write_file(segment_path(dir, static_cast<uint32_t>(s)), image);  // then the prepared one, empty
    }
  }
  return 0;
}
