// Windowed record reads for export; see record_fetch.h. A window starts at the requested
// record (rounded down to 4 KiB) and reads ahead, so a run of records of one shard in id
// order, which is the common case, costs one pread per window.
#include "record_fetch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "busyring/base/align.h"
#include "busyring/base/io.h"

namespace busyring::logtool {

RecordFetcher::~RecordFetcher() {
  for (Window& w : windows_) {
    if (w.fd >= 0) close(w.fd);
  }
}

RecordFetcher::Window* RecordFetcher::window_for(uint32_t file, const std::string& path, std::string* error) {
  Window* victim = &windows_[0];
  for (Window& w : windows_) {
    if (w.file == file) return &w;
    if (w.last_use < victim->last_use) victim = &w;
  }
  if (victim->fd >= 0) close(victim->fd);
  victim->fd = -1;
  victim->file = UINT32_MAX;
  victim->len = 0;
  victim->compacted.reset();
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    auto m = std::make_unique<storage::MappedFile>();
    if (const int rc = m->open(path); rc < 0) {
      *error = "cannot open " + path + ": " + (rc == -EBADMSG ? m->problem() : std::strerror(-rc));
      return nullptr;
    }
    victim->file = file;
    victim->file_bytes = m->file_bytes();
    victim->compacted = std::move(m);
    return victim;
  }
  if (fd < 0) {
    *error = "cannot open " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    *error = "cannot stat " + path + ": " + std::strerror(errno);
    close(fd);
    return nullptr;
  }
  victim->fd = fd;
  victim->file = file;
  victim->file_bytes = static_cast<uint64_t>(st.st_size);
  return victim;
}

bool RecordFetcher::fill(Window& w, const std::string& path, uint64_t offset, size_t need, std::string* error) {
  const uint64_t start = base::align_down(offset, 4096);
  const uint64_t want = std::max<uint64_t>(kWindowBytes, offset - start + need);
  const uint64_t end = std::min(w.file_bytes, start + want);
  if (end < offset + need) {
    *error = path + " ends before the record at offset " + std::to_string(offset) + " (changed since it was verified?)";
    return false;
  }
  const auto len = static_cast<size_t>(end - start);
  if (w.buf.size() < len) w.buf.resize(len);
  if (w.compacted) {
    std::memcpy(w.buf.data(), w.compacted->data() + start, len);
    w.start = start;
    w.len = len;
    return true;
  }
  if (const int rc = base::pread_all(w.fd, w.buf.data(), len, start); rc < 0) {
    *error = "cannot read " + path + " at offset " + std::to_string(start) + ": " + std::strerror(-rc);
    w.len = 0;
    return false;
  }
  w.start = start;
  w.len = len;
  return true;
}

bool RecordFetcher::fetch(uint32_t file, const std::string& path, uint64_t offset, storage::RecordView& out,
                          std::string* error) {
  Window* w = window_for(file, path, error);
  if (w == nullptr) return false;
  w->last_use = ++clock_;
  const auto in_window = [&](size_t bytes) { return offset >= w->start && offset + bytes <= w->start + w->len; };
  if (!in_window(storage::kRecordHeaderBytes) && !fill(*w, path, offset, storage::kRecordHeaderBytes, error))
    return false;
  storage::RecordHeader h;
  std::memcpy(&h, w->buf.data() + (offset - w->start), sizeof h);
  const size_t need = storage::record_bytes(std::min(h.body_bytes, storage::kMaxRecordBody));
  if (!in_window(need) && !fill(*w, path, offset, need, error)) return false;
  const size_t at = static_cast<size_t>(offset - w->start);
  const storage::DecodeStatus st = storage::decode_record(w->buf.data() + at, w->len - at, out);
  if (st != storage::DecodeStatus::ok || out.kind != storage::RecordKind::usage) {
    *error = "the record in " + path + " at offset " + std::to_string(offset) + " no longer decodes (" +
             storage::decode_status_name(st) + "): the log changed since it was verified";
    return false;
  }
  return true;
}

}  // namespace busyring::logtool
