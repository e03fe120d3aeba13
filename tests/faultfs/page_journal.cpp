// PageJournal: see page_journal.h.
#include "page_journal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <cerrno>
#include <random>

namespace faultfs {
namespace {

// Reads the page at `offset`; bytes past the end of the file read as zeros.
int read_page(int fd, uint64_t offset, std::vector<uint8_t>& out) {
  out.assign(kPageBytes, 0);
  size_t done = 0;
  while (done < kPageBytes) {
    const ssize_t n = pread(fd, out.data() + done, kPageBytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return 0;
}

bool all_zero(const std::vector<uint8_t>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

// Writes the durable content back over the page, never past the file's current end (sizes are
// durable at once in this model; a restore never grows a file).
int restore_page(int fd, uint64_t offset, const std::vector<uint8_t>& bytes, bool zero, uint64_t file_size) {
  if (offset >= file_size) return 0;
  const size_t len = static_cast<size_t>(std::min<uint64_t>(kPageBytes, file_size - offset));
  static const std::vector<uint8_t> zeros(kPageBytes, 0);
  const uint8_t* src = zero ? zeros.data() : bytes.data();
  size_t done = 0;
  while (done < len) {
    const ssize_t n = pwrite(fd, src + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -errno : -EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

PageJournal::~PageJournal() {
  for (auto& [ino, f] : files_)
    if (f.fd >= 0) close(f.fd);
}

int PageJournal::before_write(uint64_t ino, int fd, const std::string& path, uint64_t offset, uint64_t bytes) {
  if (bytes == 0) return 0;
  const uint64_t write = ++writes_;
  auto it = files_.find(ino);
  if (it == files_.end()) {
    const int own = dup(fd);
    if (own < 0) return -errno;
    it = files_.emplace(ino, File{own, path, {}}).first;
  }
  File& f = it->second;
  for (uint64_t page = offset / kPageBytes * kPageBytes; page < offset + bytes; page += kPageBytes) {
    if (f.pages.count(page) != 0) continue;
    Page p;
    p.write = write;
    const int rc = read_page(f.fd, page, p.bytes);
    if (rc < 0) return rc;
    p.zero = all_zero(p.bytes);
    if (p.zero) p.bytes.clear();
    f.pages.emplace(page, std::move(p));
  }
  return 0;
}

void PageJournal::flushed(uint64_t ino, uint64_t up_to) {
  const auto it = files_.find(ino);
  if (it == files_.end()) return;
  auto& pages = it->second.pages;
  // A page first written after the fsync arrived stays unflushed. (One written before and
  // again after counts as flushed with both writes: the model is generous there, and the
  // server never writes a sector twice.)
  for (auto p = pages.begin(); p != pages.end();) p = p->second.write <= up_to ? pages.erase(p) : std::next(p);
  if (pages.empty()) forget(ino);
}

void PageJournal::flushed_range(uint64_t ino, uint64_t offset, uint64_t bytes) {
  const auto it = files_.find(ino);
  if (it == files_.end()) return;
  auto& pages = it->second.pages;
  pages.erase(pages.lower_bound(offset / kPageBytes * kPageBytes), pages.lower_bound(offset + bytes));
  if (pages.empty()) forget(ino);
}

void PageJournal::truncated(uint64_t ino, uint64_t size) {
  const auto it = files_.find(ino);
  if (it == files_.end()) return;
  auto& pages = it->second.pages;
  pages.erase(pages.lower_bound(size), pages.end());
  const uint64_t last = size / kPageBytes * kPageBytes;
  const auto partial = pages.find(last);
  if (partial != pages.end() && !partial->second.zero)
    std::fill(partial->second.bytes.begin() + static_cast<std::ptrdiff_t>(size - last), partial->second.bytes.end(), 0);
  if (pages.empty()) forget(ino);
}

void PageJournal::forget(uint64_t ino) {
  const auto it = files_.find(ino);
  if (it == files_.end()) return;
  close(it->second.fd);
  files_.erase(it);
}

CutReport PageJournal::cut(uint64_t seed, double keep) {
  CutReport r;
  r.seed = seed;
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution kept(keep);
  for (auto& [ino, f] : files_) {
    struct stat st {};
    const uint64_t size = fstat(f.fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    uint64_t file_kept = 0;
    std::string dropped;
    for (const auto& [offset, page] : f.pages) {
      if (kept(rng)) {
        ++file_kept;
        continue;
      }
      if (restore_page(f.fd, offset, page.bytes, page.zero, size) < 0) dropped += " (restore failed)";
      dropped += " " + std::to_string(offset);
    }
    ++r.files;
    r.pages += f.pages.size();
    r.kept += file_kept;
    r.dropped += f.pages.size() - file_kept;
    r.detail += "  " + f.path + ": kept " + std::to_string(file_kept) + " of " + std::to_string(f.pages.size()) +
                " unflushed pages" + (dropped.empty() ? "" : "; dropped at" + dropped) + "\n";
    close(f.fd);
  }
  files_.clear();
  return r;
}

uint64_t PageJournal::unflushed_pages() const {
  uint64_t n = 0;
  for (const auto& [ino, f] : files_) n += f.pages.size();
  return n;
}

}  // namespace faultfs
