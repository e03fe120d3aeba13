// Read-only whole-file mappings; see mapped_file.h.
#include "busyring/storage/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/storage/compact_segment.h"

namespace busyring::storage {
namespace {

// For ".../seg-NNNNNNNN.log": its compacted form's path and index; false for any other name.
bool compacted_form(const std::string& path, std::string& zlog, uint32_t& index) {
  const size_t slash = path.find_last_of('/');
  const char* name = path.c_str() + (slash == std::string::npos ? 0 : slash + 1);
  unsigned parsed = 0;
  int consumed = 0;
  if (std::strlen(name) != 16 || std::sscanf(name, "seg-%8u.log%n", &parsed, &consumed) != 1 || consumed != 16)
    return false;
  index = parsed;
  zlog = path.substr(0, path.size() - 4) + kCompactSuffix;
  return true;
}

// 0 with st filled for a regular file; -errno otherwise.
int stat_regular(int fd, struct stat& st) noexcept {
  if (fstat(fd, &st) != 0) return -errno;
  if (S_ISREG(st.st_mode)) return 0;
  return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

}  // namespace

MappedFile::~MappedFile() { close(); }

void MappedFile::close() noexcept {
  if (data_ != nullptr) munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(file_bytes_));
  data_ = nullptr;
  file_bytes_ = 0;
  compacted_ = false;
  problem_.clear();
}

int MappedFile::open(const std::string& path, bool populate) {
  close();
  // O_NONBLOCK: a FIFO in the way is refused below instead of waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return open_compacted(path);
  if (fd < 0) return -errno;
  struct stat st {};
  int rc = stat_regular(fd, st);
  const auto bytes = static_cast<size_t>(st.st_size);
  if (rc == 0 && bytes > 0) {
    void* p = mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
    if (p == MAP_FAILED) {
      rc = -errno;
    } else {
      madvise(p, bytes, MADV_SEQUENTIAL);
      data_ = static_cast<const uint8_t*>(p);
    }
  }
  ::close(fd);
  if (rc == 0) file_bytes_ = bytes;
  return rc;
}

int MappedFile::open_compacted(const std::string& path) {
  std::string zlog;
  uint32_t index = 0;
  if (!compacted_form(path, zlog, index)) return -ENOENT;
  std::string why;
  const int rc = map_compact(zlog, index, &data_, &file_bytes_, why);
  if (rc == -ENOENT) return -ENOENT;  // neither form: the segment is missing
  if (rc < 0) {
    data_ = nullptr;
    file_bytes_ = 0;
    problem_ = zlog + ": " + (rc == -EBADMSG ? why : std::strerror(-rc));
    return rc;
  }
  compacted_ = true;
  return 0;
}

}  // namespace busyring::storage
