// Log file access for the damage tests; see log_files.h.
#include "log_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <catch2/catch.hpp>

#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"

namespace blackbox {
namespace storage = busyring::storage;

std::vector<uint8_t> read_bytes(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  INFO("open " << path);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  std::vector<uint8_t> data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = pread(fd, data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  REQUIRE(done == data.size());
  return data;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  INFO("create " << path);
  REQUIRE(fd >= 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  REQUIRE(done == bytes.size());
}

void write_at(const std::string& path, const void* bytes, size_t len, uint64_t offset) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  INFO("open " << path);
  REQUIRE(fd >= 0);
  const ssize_t n = pwrite(fd, bytes, len, static_cast<off_t>(offset));
  close(fd);
  REQUIRE(n == static_cast<ssize_t>(len));
}

namespace {

class OffsetCollector final : public storage::RecordVisitor {
 public:
  explicit OffsetCollector(std::vector<RecordAt>& out) : out_(out) {}
  bool on_record(const storage::RecordView& r, uint64_t offset) override {
    RecordAt a;
    a.offset = offset;
    a.id = r.id;
    a.body.assign(reinterpret_cast<const char*>(r.body), r.body_bytes);
    a.body_bytes = r.body_bytes;
    a.record_bytes = r.record_bytes;
    out_.push_back(std::move(a));
    return true;
  }

 private:
  std::vector<RecordAt>& out_;
};

}  // namespace

std::vector<SegmentFile> read_shard(const std::string& data_dir, uint32_t shard) {
  const std::string dir = storage::shard_dir(data_dir, shard);
  std::vector<uint32_t> indexes;
  REQUIRE(storage::list_segments(dir, indexes) == 0);
  std::vector<SegmentFile> out;
  for (const uint32_t index : indexes) {
    SegmentFile f;
    f.index = index;
    f.path = storage::segment_path(dir, index);
    f.bytes = read_bytes(f.path);
    OffsetCollector collector(f.records);
    const auto scan = storage::scan_segment(f.bytes.data(), f.bytes.size() / 8 * 8, &collector);
    INFO(f.path << " scans " << storage::segment_end_name(scan.end));
    REQUIRE(scan.end == storage::SegmentEnd::clean);
    f.data_end = scan.data_end;
    out.push_back(std::move(f));
  }
  return out;
}

namespace {

// The same bytes as write_bytes, but the zero tail is left as a hole (ftruncate): a segment
// is mostly zeros, and the damage tests copy hundreds of them, each then fdatasync'ed by
// recovery; writing the zeros would make every fdatasync flush a whole segment.
void write_sparse(const std::string& path, const std::vector<uint8_t>& bytes) {
  size_t end = bytes.size();
  while (end > 0 && bytes[end - 1] == 0) --end;
  end = std::min(bytes.size(), (end + 4095) / 4096 * 4096);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  INFO("create " << path);
  REQUIRE(fd >= 0);
  size_t done = 0;
  while (done < end) {
    const ssize_t n = pwrite(fd, bytes.data() + done, end - done, static_cast<off_t>(done));
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int rc = ftruncate(fd, static_cast<off_t>(bytes.size()));
  close(fd);
  REQUIRE(done == end);
  REQUIRE(rc == 0);
}

}  // namespace

void write_shard(const std::string& data_dir, uint32_t shard, const std::vector<SegmentFile>& segments) {
  const std::string dir = storage::shard_dir(data_dir, shard);
  REQUIRE(storage::make_dirs(dir) == 0);
  for (const auto& s : segments) write_sparse(storage::segment_path(dir, s.index), s.bytes);
}

CapturedStderr::CapturedStderr() {
  char tmpl[] = "/tmp/busyring-bb-stderr-XXXXXX";
  file_fd_ = mkstemp(tmpl);
  REQUIRE(file_fd_ >= 0);
  unlink(tmpl);
  saved_fd_ = dup(2);
  REQUIRE(saved_fd_ >= 0);
  REQUIRE(dup2(file_fd_, 2) == 2);
}

CapturedStderr::~CapturedStderr() {
  if (saved_fd_ >= 0) {
    dup2(saved_fd_, 2);
    close(saved_fd_);
  }
  if (file_fd_ >= 0) close(file_fd_);
}

std::string CapturedStderr::text() const {
  std::string out;
  char buf[4096];
  off_t off = 0;
  while (true) {
    const ssize_t n = pread(file_fd_, buf, sizeof buf, off);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

}  // namespace blackbox
