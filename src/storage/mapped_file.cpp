// Read-only whole-file mappings; see mapped_file.h.
#include "busyring/storage/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace busyring::storage {
namespace {

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
}

int MappedFile::open(const std::string& path, bool populate) {
  close();
  // O_NONBLOCK: a FIFO in the way is refused below instead of waiting for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
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

}  // namespace busyring::storage
