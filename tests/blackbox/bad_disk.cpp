// The failing disk of bad_disk.h: a minimal FUSE server (the kernel protocol of
// <linux/fuse.h>, one file "disk" in the root directory) answering from one thread, and the
// loop device, ext4 and mounts around it. Requests are answered one at a time, in order.
#include "bad_disk.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "load_driver.h"

namespace blackbox {
namespace {

constexpr uint64_t kRootNode = FUSE_ROOT_ID;
constexpr uint64_t kDiskNode = 2;
constexpr const char* kDiskName = "disk";
constexpr uint32_t kMaxWrite = 128 * 1024;
constexpr size_t kRequestBuffer = kMaxWrite + 64 * 1024;  // a write's data plus its headers
constexpr uint64_t kCacheSeconds = 3600;                   // nothing changes behind the kernel

std::string quoted(const std::string& s) { return "'" + s + "'"; }

template <typename T>
T read_as(const uint8_t* p) {
  T t;
  std::memcpy(&t, p, sizeof t);
  return t;
}

}  // namespace

std::vector<ByteRange> physical_ranges(const std::string& path, std::string* why) {
  constexpr uint32_t kExtents = 256;
  std::vector<uint8_t> buf(sizeof(fiemap) + kExtents * sizeof(fiemap_extent));
  auto* map = reinterpret_cast<fiemap*>(buf.data());
  map->fm_start = 0;
  map->fm_length = FIEMAP_MAX_OFFSET;
  map->fm_flags = FIEMAP_FLAG_SYNC;
  map->fm_extent_count = kExtents;
  std::vector<ByteRange> out;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ioctl(fd, FS_IOC_FIEMAP, map) != 0) {
    *why = "FIEMAP of " + path + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return out;
  }
  close(fd);
  for (uint32_t i = 0; i < map->fm_mapped_extents; ++i) {
    const fiemap_extent& e = map->fm_extents[i];
    out.push_back({e.fe_physical, e.fe_physical + e.fe_length});
  }
  if (out.empty()) *why = path + " has no extents";
  return out;
}

BadDisk::BadDisk(uint64_t bytes) : bytes_(bytes) {
  store_path_ = base_.sub("store");
  fuse_dir_ = base_.sub("fuse");
  mnt_dir_ = base_.sub("mnt");
  if (geteuid() != 0) {
    why_ = "not running as root (mount, losetup and FUSE need it)";
    return;
  }
  if (access("/dev/fuse", R_OK | W_OK) != 0) {
    why_ = std::string("/dev/fuse: ") + std::strerror(errno) + " (a kernel without FUSE)";
    return;
  }
  store_fd_ = open(store_path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (store_fd_ < 0 || ftruncate(store_fd_, static_cast<off_t>(bytes_)) != 0) {
    why_ = "cannot create " + store_path_ + ": " + std::strerror(errno);
    return;
  }
  if (start_fuse()) mounted_ = attach_and_mount();
}

bool BadDisk::start_fuse() {
  if (mkdir(fuse_dir_.c_str(), 0755) != 0 || pipe2(stop_pipe_, O_CLOEXEC) != 0) {
    why_ = "cannot create " + fuse_dir_ + ": " + std::strerror(errno);
    return false;
  }
  fuse_fd_ = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (fuse_fd_ < 0) {
    why_ = std::string("open /dev/fuse: ") + std::strerror(errno);
    return false;
  }
  const std::string options =
      "fd=" + std::to_string(fuse_fd_) + ",rootmode=40000,user_id=0,group_id=0,allow_other";
  if (mount("busyring-bad-disk", fuse_dir_.c_str(), "fuse", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    why_ = std::string("mounting a FUSE filesystem: ") + std::strerror(errno);
    return false;
  }
  fuse_mounted_ = true;
  server_ = std::thread([this] { serve(); });
  return true;
}

bool BadDisk::attach_and_mount() {
  std::string out;
  if (run_command("losetup --find --show " + quoted(fuse_dir_ + "/" + kDiskName), &out) != 0) {
    why_ = "losetup over the FUSE file failed (Debian package mount; loop devices?): " + out;
    return false;
  }
  loop_device_ = out.substr(0, out.find('\n'));
  // Initialised in full now, so no background writer touches the disk later.
  const std::string cmd = "mkfs.ext4 -q -F -m 0 -E lazy_itable_init=0,lazy_journal_init=0 " +
                          quoted(loop_device_) + " && mkdir " + quoted(mnt_dir_) + " && mount " +
                          quoted(loop_device_) + " " + quoted(mnt_dir_);
  if (run_command(cmd, &out) != 0) {
    why_ = "mkfs.ext4 (Debian package e2fsprogs) or mount on " + loop_device_ + " failed: " + out;
    return false;
  }
  return true;
}

BadDisk::~BadDisk() {
  // In reverse, with the FUSE server still answering until the last: unmounting ext4 flushes
  // through it.
  if (mounted_ && run_command("umount " + quoted(mnt_dir_)) != 0) (void)run_command("umount -l " + quoted(mnt_dir_));
  if (!loop_device_.empty()) (void)run_command("losetup -d " + quoted(loop_device_));
  if (fuse_mounted_) umount2(fuse_dir_.c_str(), MNT_DETACH);
  if (server_.joinable()) {
    const char stop = 1;
    (void)!write(stop_pipe_[1], &stop, 1);
    server_.join();
  }
  for (const int fd : {fuse_fd_, store_fd_, stop_pipe_[0], stop_pipe_[1]})
    if (fd >= 0) close(fd);
}

void BadDisk::fail_writes(std::vector<ByteRange> ranges, int writes) {
  std::lock_guard<std::mutex> lock(mu_);
  bad_ = std::move(ranges);
  left_to_fail_ = writes;
}

bool BadDisk::should_fail(uint64_t offset, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (left_to_fail_ == 0) return false;
  const bool touches = std::any_of(bad_.begin(), bad_.end(), [&](const ByteRange& r) {
    return offset < r.end && r.first < offset + bytes;
  });
  if (!touches) return false;
  --left_to_fail_;
  failed_.fetch_add(1);
  return true;
}

void BadDisk::serve() {
  std::vector<uint8_t> buf(kRequestBuffer);
  while (true) {
    pollfd p[2] = {{fuse_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents != 0) return;
    const ssize_t n = read(fuse_fd_, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;  // ENOENT: interrupted
      return;                                                             // ENODEV: unmounted
    }
    if (static_cast<size_t>(n) >= sizeof(fuse_in_header)) handle(buf.data(), static_cast<size_t>(n));
  }
}

void BadDisk::reply(uint64_t unique, int error, const void* payload, size_t bytes) {
  fuse_out_header out{};
  out.len = static_cast<uint32_t>(sizeof out + (error == 0 ? bytes : 0));
  out.error = -error;
  out.unique = unique;
  std::vector<uint8_t> msg(out.len);
  std::memcpy(msg.data(), &out, sizeof out);
  if (error == 0 && bytes > 0) std::memcpy(msg.data() + sizeof out, payload, bytes);
  (void)!write(fuse_fd_, msg.data(), msg.size());  // fails only if the request was aborted
}

namespace {

fuse_attr attributes(uint64_t node, uint64_t bytes) {
  fuse_attr a{};
  a.ino = node;
  a.blksize = 4096;
  if (node == kRootNode) {
    a.mode = S_IFDIR | 0755;
    a.nlink = 2;
  } else {
    a.mode = S_IFREG | 0600;
    a.nlink = 1;
    a.size = bytes;
    a.blocks = bytes / 512;
  }
  return a;
}

}  // namespace

void BadDisk::on_init(uint64_t unique, const uint8_t* arg) {
  const auto in = read_as<fuse_init_in>(arg);
  fuse_init_out out{};
  out.major = FUSE_KERNEL_VERSION;
  out.minor = std::min<uint32_t>(in.minor, FUSE_KERNEL_MINOR_VERSION);
  out.max_readahead = in.max_readahead;
  out.flags = in.flags & (FUSE_BIG_WRITES | FUSE_MAX_PAGES);
  out.max_background = 16;
  out.congestion_threshold = 12;
  out.max_write = kMaxWrite;
  out.time_gran = 1;
  out.max_pages = kMaxWrite / 4096;
  reply(unique, 0, &out, sizeof out);
}

void BadDisk::on_lookup(uint64_t unique, uint64_t node, const char* name, size_t name_bytes) {
  if (node != kRootNode || std::string(name, strnlen(name, name_bytes)) != kDiskName) return reply(unique, ENOENT);
  fuse_entry_out out{};
  out.nodeid = kDiskNode;
  out.entry_valid = out.attr_valid = kCacheSeconds;
  out.attr = attributes(kDiskNode, bytes_);
  reply(unique, 0, &out, sizeof out);
}

void BadDisk::on_read(uint64_t unique, uint64_t node, const uint8_t* arg) {
  const auto in = read_as<fuse_read_in>(arg);
  std::vector<uint8_t> data(in.size);
  const ssize_t n = node == kDiskNode ? pread(store_fd_, data.data(), in.size, static_cast<off_t>(in.offset)) : 0;
  if (n < 0) return reply(unique, errno);
  reply(unique, 0, data.data(), static_cast<size_t>(n));
}

// The one place a write can fail: before any of its bytes reach the store, as a sector write
// that the disk refused.
void BadDisk::on_write(uint64_t unique, const uint8_t* arg) {
  const auto in = read_as<fuse_write_in>(arg);
  if (should_fail(in.offset, in.size)) return reply(unique, EIO);
  const ssize_t n = pwrite(store_fd_, arg + sizeof in, in.size, static_cast<off_t>(in.offset));
  if (n < 0) return reply(unique, errno);
  fuse_write_out out{};
  out.size = static_cast<uint32_t>(n);
  reply(unique, 0, &out, sizeof out);
}

void BadDisk::handle(const uint8_t* request, size_t bytes) {
  const auto h = read_as<fuse_in_header>(request);
  const uint8_t* arg = request + sizeof h;
  switch (h.opcode) {
    case FUSE_INIT: return on_init(h.unique, arg);
    case FUSE_LOOKUP: return on_lookup(h.unique, h.nodeid, reinterpret_cast<const char*>(arg), bytes - sizeof h);
    case FUSE_GETATTR:
    case FUSE_SETATTR: {  // nothing may change the disk's size or mode: the answer stays
      if (h.nodeid != kRootNode && h.nodeid != kDiskNode) return reply(h.unique, ENOENT);
      fuse_attr_out out{};
      out.attr_valid = kCacheSeconds;
      out.attr = attributes(h.nodeid, bytes_);
      return reply(h.unique, 0, &out, sizeof out);
    }
    case FUSE_OPEN:
    case FUSE_OPENDIR: {
      const fuse_open_out out{};
      return reply(h.unique, 0, &out, sizeof out);
    }
    case FUSE_READ: return on_read(h.unique, h.nodeid, arg);
    case FUSE_WRITE: return on_write(h.unique, arg);
    case FUSE_FSYNC: return reply(h.unique, fdatasync(store_fd_) == 0 ? 0 : errno);
    case FUSE_STATFS: {
      fuse_statfs_out out{};
      out.st.bsize = out.st.frsize = 4096;
      out.st.namelen = 255;
      return reply(h.unique, 0, &out, sizeof out);
    }
    case FUSE_READDIR:  // nothing listed (no one lists it)
    case FUSE_RELEASE:
    case FUSE_RELEASEDIR:
    case FUSE_FLUSH:
    case FUSE_DESTROY: return reply(h.unique, 0);
    case FUSE_FORGET:
    case FUSE_BATCH_FORGET:
    case FUSE_INTERRUPT: return;  // never answered
    default: return reply(h.unique, ENOSYS);
  }
}

}  // namespace blackbox
