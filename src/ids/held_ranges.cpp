// The held-ranges file: parse on start-up, durable appends while running.
#include "busyring/ids/held_ranges.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"

namespace busyring::ids {
namespace {

bool parse_u64(const char*& p, const char* end, uint64_t& out) {
  if (p == end || *p < '0' || *p > '9') return false;
  uint64_t v = 0;
  for (; p != end && *p >= '0' && *p <= '9'; ++p) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(*p - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::string held_ranges_path(const std::string& data_dir) { return data_dir + "/" + kHeldRangesFile; }

base::Result<std::vector<IdRange>> load_held_ranges(const std::string& path, bool* local) {
  std::vector<IdRange> out;
  if (local != nullptr) *local = false;
  std::string text;
  if (const int rc = base::read_file(path, text, std::string::npos); rc < 0) {
    if (rc == -ENOENT) return out;
    return base::Error{"cannot read " + path + ": " + std::strerror(-rc)};
  }
  size_t line_no = 0;
  size_t pos = 0;
  const std::string marker = std::string(kLocalMarker) + "\n";
  if (text.compare(0, marker.size(), marker) == 0) {
    if (local != nullptr) *local = true;
    pos = marker.size();
    ++line_no;
  }
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // torn last line: never used
    ++line_no;
    const char* p = text.data() + pos;
    const char* end = text.data() + nl;
    IdRange r;
    const bool ok = parse_u64(p, end, r.first) && p != end && *p++ == ' ' && parse_u64(p, end, r.end) &&
                    p == end && r.first > 0 && r.first < r.end;
    if (!ok)
      return base::Error{path + " line " + std::to_string(line_no) +
                         " is not \"FIRST END\"; the file was edited or damaged (fix or restore it; "
                         "never delete it, it records ids this node may still issue)"};
    out.push_back(r);
    pos = nl + 1;
  }
  return out;
}

HeldRangesLog::~HeldRangesLog() {
  if (fd_ >= 0) ::close(fd_);
}

base::Status HeldRangesLog::open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) return base::Error{"cannot open " + path + ": " + std::strerror(errno)};
  // The file's directory entry must be durable too, or a crash could lose the whole file.
  const std::string dir = base::parent_dir(path);
  if (const int rc = base::fsync_dir(dir); rc < 0) return base::Error{"cannot sync " + dir + ": " + std::strerror(-rc)};
  return base::ok_status();
}

base::Status HeldRangesLog::append(IdRange range) {
  char line[48];
  const int n = std::snprintf(line, sizeof line, "%" PRIu64 " %" PRIu64 "\n", range.first, range.end);
  // The size before the append (O_APPEND: the line lands there), to cut a partial line off.
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  if (before < 0) return base::Error{"cannot write " + path_ + ": " + std::strerror(errno)};
  if (const int rc = base::write_all(fd_, line, static_cast<size_t>(n)); rc < 0) {
    // A partial line is ignored on start-up only if it is the last one: cut it off, so the
    // next append does not glue onto it.
    if (::ftruncate(fd_, before) != 0) { /* the next start refuses a bad line */ }
    return base::Error{"cannot write " + path_ + ": " + std::strerror(-rc)};
  }
  if (::fdatasync(fd_) != 0) return base::Error{"cannot sync " + path_ + ": " + std::strerror(errno)};
  return base::ok_status();
}

}  // namespace busyring::ids
