// The power-cut model's memory. Every page (4 KiB of a file, at a 4 KiB-aligned offset) written
// since that file's last fsync is "unflushed": the journal keeps the content it had before the
// first such write (what the disk holds durably) while the new bytes go to the backing file, so
// reads see them at once. An fsync makes a file's pages durable (their entries are dropped);
// a power cut restores a seeded random subset of the unflushed pages to their durable content
// and keeps the others, as a disk that persisted some pages of the writes in flight and not
// others. One journal per daemon; the caller serialises every call (one mutex).
#pragma once

#include <cstdint>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace faultfs {

inline constexpr uint64_t kPageBytes = 4096;

struct CutReport {
  uint64_t seed = 0;
  uint64_t files = 0;     // files with unflushed pages
  uint64_t pages = 0;     // unflushed pages
  uint64_t kept = 0;      // of them, kept with their new content
  uint64_t dropped = 0;   // restored to their durable content
  std::string detail;     // per file: "path kept K of N (dropped: page offsets...)"
};

class PageJournal {
 public:
  PageJournal() = default;
  ~PageJournal();
  PageJournal(const PageJournal&) = delete;
  PageJournal& operator=(const PageJournal&) = delete;

  // Before [offset, offset + bytes) of file `ino` is written through `fd` (open for reading and
  // writing): saves the durable content of each page not yet unflushed. `path` names the file in
  // reports. Returns 0 or -errno.
  int before_write(uint64_t ino, int fd, const std::string& path, uint64_t offset, uint64_t bytes);
  // fsync / fdatasync of the file: its unflushed pages first written at or before write number
  // `up_to` (see writes()) are durable now; by default all of them.
  void flushed(uint64_t ino, uint64_t up_to = UINT64_MAX);
  // How many before_write calls came so far: an fsync notes it when it arrives, since it covers
  // only the writes that completed before it was asked for.
  uint64_t writes() const { return writes_; }
  // An O_DSYNC write: the pages it covered are durable.
  void flushed_range(uint64_t ino, uint64_t offset, uint64_t bytes);
  // The file was cut to `size` (durable at once, like every metadata change): pages past it
  // are gone, and the durable content of the page holding the new end is zero past it.
  void truncated(uint64_t ino, uint64_t size);
  // The file's last name went away: nothing of it can be read again.
  void forget(uint64_t ino);
  // The power cut: each unflushed page is kept with probability keep (a seeded draw, in
  // (file, page) order so a seed replays), else restored. The journal is empty afterwards.
  CutReport cut(uint64_t seed, double keep);
  uint64_t unflushed_pages() const;

 private:
  struct Page {
    uint64_t write = 0;          // the number of the write that first made it unflushed
    bool zero = true;            // durable content all zeros (no copy kept)
    std::vector<uint8_t> bytes;  // else its kPageBytes bytes
  };
  struct File {
    int fd = -1;  // our own descriptor, to restore pages after the writer closed its own
    std::string path;
    std::map<uint64_t, Page> pages;  // by page offset
  };
  std::map<uint64_t, File> files_;  // by backing inode number (the fd keeps the inode alive)
  uint64_t writes_ = 0;
};

}  // namespace faultfs
