// Segment file helpers: names, listing, DIO alignment, zero-filled creation.
#include "busyring/storage/segment.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "busyring/base/assert.h"
#include "busyring/base/fs.h"
#include "busyring/base/io.h"
#include "busyring/storage/compact_segment.h"

namespace busyring::storage {
namespace {

// Parses "<prefix><digits><suffix>" exactly; false otherwise.
bool parse_numbered(const char* name, const char* prefix, const char* suffix, uint32_t& out) {
  const size_t plen = std::strlen(prefix), slen = std::strlen(suffix), n = std::strlen(name);
  if (n <= plen + slen || std::strncmp(name, prefix, plen) != 0) return false;
  if (std::strcmp(name + n - slen, suffix) != 0) return false;
  uint64_t v = 0;
  for (size_t i = plen; i < n - slen; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
    if (v > UINT32_MAX) return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

int list_numbered(const std::string& dir, const char* prefix, const char* suffix,
                  std::vector<uint32_t>& out) {
  out.clear();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -errno;
  while (dirent* e = readdir(d)) {
    uint32_t v = 0;
    if (parse_numbered(e->d_name, prefix, suffix, v)) out.push_back(v);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return 0;
}

}  // namespace

std::string shard_dir(const std::string& data_dir, uint32_t shard) {
  char name[32];
  std::snprintf(name, sizeof name, "/shard-%02u", shard);
  return data_dir + name;
}

std::string segment_path(const std::string& dir, uint32_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "/seg-%08u.log", index);
  return dir + name;
}

int list_shards(const std::string& data_dir, std::vector<uint32_t>& out) {
  return list_numbered(data_dir, "shard-", "", out);
}

int list_segments(const std::string& dir, std::vector<uint32_t>& out) {
  if (const int rc = list_numbered(dir, "seg-", ".log", out); rc < 0) return rc;
  std::vector<uint32_t> compacted;
  if (const int rc = list_compacted_segments(dir, compacted); rc < 0) return rc;
  if (compacted.empty()) return 0;
  out.insert(out.end(), compacted.begin(), compacted.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());  // both forms: mid-compaction
  return 0;
}

int list_compacted_segments(const std::string& dir, std::vector<uint32_t>& out) {
  return list_numbered(dir, "seg-", ".zlog", out);
}

uint64_t segment_disk_bytes(const std::string& dir, uint32_t index) {
  struct stat st {};
  if (stat(segment_path(dir, index).c_str(), &st) == 0) return static_cast<uint64_t>(st.st_size);
  char name[32];
  std::snprintf(name, sizeof name, "/seg-%08u.zlog", index);
  if (stat((dir + name).c_str(), &st) == 0) return static_cast<uint64_t>(st.st_size);
  return 0;
}

base::Result<uint64_t> segment_read_bytes(const std::string& dir, uint32_t index) {
  const std::string path = segment_path(dir, index);
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) return static_cast<uint64_t>(st.st_size);
  if (const int err = errno; err != ENOENT) return base::Error{"cannot read " + path + ": " + std::strerror(err)};
  // Compacted (README, Compaction): its header says how large the segment it holds is.
  const std::string compacted = compact_path(dir, index);
  CompactHeader h;
  std::string why;
  if (read_compact_header(compacted, index, h, why) != 0)
    return base::Error{"cannot read " + path + " nor " + compacted + (why.empty() ? "" : ": " + why)};
  return h.segment_bytes;
}

int list_summaries(const std::string& dir, std::vector<uint32_t>& out) {
  return list_numbered(dir, "seg-", ".summary", out);
}

int dio_alignment(const std::string& path, DioAlign& out) {
  struct statx sx {};
  if (statx(AT_FDCWD, path.c_str(), 0, STATX_DIOALIGN, &sx) != 0) return -errno;
  if ((sx.stx_mask & STATX_DIOALIGN) == 0 || sx.stx_dio_offset_align == 0) {
    // The kernel could not say; probe with an O_DIRECT open, then assume the page size,
    // which every block device divides.
    const int fd = open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0) return errno == EINVAL ? -EOPNOTSUPP : -errno;
    close(fd);
    out.memory = out.offset = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
    return 0;
  }
  out.memory = sx.stx_dio_mem_align;
  out.offset = sx.stx_dio_offset_align;
  return 0;
}

int make_dirs(const std::string& dir) {
  if (dir.empty()) return -EINVAL;
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
  const std::string parent = base::parent_dir(dir);
  if (parent != dir) {
    const int rc = make_dirs(parent);
    if (rc < 0) return rc;
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return -errno;
  return base::fsync_dir(parent);
}

int create_segment_sync(const std::string& path, uint64_t bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  constexpr size_t kChunk = 1 << 20;
  void* zeros = alloc_aligned(kChunk);
  int rc = 0;
  if (zeros == nullptr) rc = -ENOMEM;
  if (rc == 0 && posix_fallocate(fd, 0, static_cast<off_t>(bytes)) != 0) rc = -ENOSPC;
  for (uint64_t off = 0; rc == 0 && off < bytes; off += kChunk)
    rc = base::pwrite_all(fd, zeros, static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - off)), off);
  if (rc == 0 && fsync(fd) != 0) rc = -errno;
  close(fd);
  if (zeros != nullptr) free_aligned(zeros, kChunk);
  if (rc == 0 && rename(tmp.c_str(), path.c_str()) != 0) rc = -errno;
  if (rc != 0) {
    unlink(tmp.c_str());
    return rc;
  }
  return base::fsync_dir(base::parent_dir(path));
}

int open_segment(const std::string& path, bool dsync) {
  const int flags = O_WRONLY | O_DIRECT | O_CLOEXEC | (dsync ? O_DSYNC : 0);
  const int fd = open(path.c_str(), flags);
  return fd < 0 ? -errno : fd;
}

void* alloc_aligned(size_t bytes) noexcept {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void free_aligned(void* p, size_t bytes) noexcept {
  BR_ASSERT(p != nullptr);
  munmap(p, bytes);
}

}  // namespace busyring::storage
