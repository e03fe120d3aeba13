// A disk whose writes fail for real, without device-mapper (these VMs' kernels have none): a
// one-file FUSE filesystem, served by a thread of the test process straight over /dev/fuse,
// whose file backs a loop device with ext4 on it. The file keeps its bytes in a file of a
// TempDir; while armed, the next N writes that touch chosen byte ranges of it fail with EIO,
// which the loop device passes to the filesystem above as a failed block write, and ext4 to
// the O_DIRECT write that asked for it. This is dm-flakey's "drop writes for a while" on chosen
// sectors: the server sees the kernel's EIO, not an injected one.
//
// Needs root, /dev/fuse, loop devices, losetup and mount (Debian package mount) and mkfs.ext4
// (e2fsprogs); without them the constructor records why (why_not()) and mounted() is false.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace blackbox {

struct ByteRange {
  uint64_t first = 0;
  uint64_t end = 0;  // one past the last byte
};

// The physical byte ranges of a file on its filesystem's device (FIEMAP), or an empty list
// and `why` filled in.
std::vector<ByteRange> physical_ranges(const std::string& path, std::string* why);

class BadDisk {
 public:
  explicit BadDisk(uint64_t bytes);
  ~BadDisk();  // unmounts and detaches in reverse, never asserts
  BadDisk(const BadDisk&) = delete;
  BadDisk& operator=(const BadDisk&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_; }
  // The ext4 filesystem's mount point.
  const std::string& dir() const { return mnt_dir_; }

  // From now on the next `writes` write requests that touch any of `ranges` (device offsets)
  // fail with EIO; writes elsewhere go through.
  void fail_writes(std::vector<ByteRange> ranges, int writes);
  // Write requests failed so far.
  int failed_writes() const { return failed_.load(); }

 private:
  void serve();
  void handle(const uint8_t* request, size_t bytes);
  void on_init(uint64_t unique, const uint8_t* arg);
  void on_lookup(uint64_t unique, uint64_t node, const char* name, size_t name_bytes);
  void on_read(uint64_t unique, uint64_t node, const uint8_t* arg);
  void on_write(uint64_t unique, const uint8_t* arg);
  void reply(uint64_t unique, int error, const void* payload = nullptr, size_t bytes = 0);
  bool should_fail(uint64_t offset, uint64_t bytes);
  bool start_fuse();
  bool attach_and_mount();

  TempDir base_;
  std::string store_path_, fuse_dir_, mnt_dir_, loop_device_, why_;
  uint64_t bytes_;
  int store_fd_ = -1;
  int fuse_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  bool fuse_mounted_ = false;
  bool mounted_ = false;
  std::thread server_;
  std::mutex mu_;
  std::vector<ByteRange> bad_;
  int left_to_fail_ = 0;
  std::atomic<int> failed_{0};
};

}  // namespace blackbox
