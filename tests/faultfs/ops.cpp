// The FUSE operations of busyring-faultfs (high-level, path-based API): plain pass-through to
// the backing directory, except that writes are recorded in the PageJournal first, fsync makes
// them durable, and after a power cut every change is refused with EIO. See faultfs.h.
#define FUSE_USE_VERSION 312
#include <fuse.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <random>
#include <thread>

#include "faultfs.h"

namespace faultfs {
namespace {

State& state() { return *static_cast<State*>(fuse_get_context()->private_data); }

const char* rel(const char* path) { return path[0] == '/' && path[1] == '\0' ? "." : path + 1; }

// One open file: our backing descriptor (always readable, so the journal can save pages).
struct Handle {
  int fd = -1;
  uint64_t ino = 0;
  bool dsync = false;
};
Handle& handle(const fuse_file_info* fi) { return *reinterpret_cast<Handle*>(fi->fh); }

int neg_errno(int rc) { return rc < 0 ? -errno : rc; }

// Runs a change under the lock, unless the power is cut.
template <typename F>
int change(F&& f) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.frozen) {
    ++s.stats.refused;
    return -EIO;
  }
  return f(s);
}

int op_getattr(const char* path, struct stat* sb, fuse_file_info* fi) {
  if (fi != nullptr) return neg_errno(fstat(handle(fi).fd, sb));
  return neg_errno(fstatat(state().backing_fd, rel(path), sb, AT_SYMLINK_NOFOLLOW));
}

int op_access(const char* path, int mask) { return neg_errno(faccessat(state().backing_fd, rel(path), mask, 0)); }

int op_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*, fuse_readdir_flags) {
  const int fd = openat(state().backing_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    close(fd);
    return -ENOMEM;
  }
  while (const dirent* e = readdir(d)) fill(buf, e->d_name, nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  closedir(d);
  return 0;
}

int op_mkdir(const char* path, mode_t mode) {
  return change([&](State& s) { return neg_errno(mkdirat(s.backing_fd, rel(path), mode)); });
}

int op_rmdir(const char* path) {
  return change([&](State& s) { return neg_errno(unlinkat(s.backing_fd, rel(path), AT_REMOVEDIR)); });
}

// A name that goes away: if it was the file's last, its unflushed pages go with it.
void forget_if_last_link(State& s, const char* path) {
  struct stat st {};
  if (fstatat(s.backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1)
    s.journal.forget(st.st_ino);
}

int op_unlink(const char* path) {
  return change([&](State& s) {
    forget_if_last_link(s, path);
    return neg_errno(unlinkat(s.backing_fd, rel(path), 0));
  });
}

int op_rename(const char* from, const char* to, unsigned int flags) {
  return change([&](State& s) {
    if ((flags & RENAME_EXCHANGE) == 0) forget_if_last_link(s, to);
    return neg_errno(renameat2(s.backing_fd, rel(from), s.backing_fd, rel(to), flags));
  });
}

int op_chmod(const char* path, mode_t mode, fuse_file_info* fi) {
  return change([&](State& s) {
    return neg_errno(fi != nullptr ? fchmod(handle(fi).fd, mode) : fchmodat(s.backing_fd, rel(path), mode, 0));
  });
}

int op_chown(const char* path, uid_t uid, gid_t gid, fuse_file_info* fi) {
  return change([&](State& s) {
    return neg_errno(fi != nullptr ? fchown(handle(fi).fd, uid, gid)
                                   : fchownat(s.backing_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW));
  });
}

int op_truncate(const char* path, off_t size, fuse_file_info* fi) {
  return change([&](State& s) {
    const int fd = fi != nullptr ? handle(fi).fd : openat(s.backing_fd, rel(path), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st {};
    int rc = fstat(fd, &st) == 0 && ftruncate(fd, size) == 0 ? 0 : -errno;
    if (rc == 0) s.journal.truncated(st.st_ino, static_cast<uint64_t>(size));
    if (fi == nullptr) close(fd);
    return rc;
  });
}

int op_utimens(const char* path, const timespec tv[2], fuse_file_info* fi) {
  return change([&](State& s) {
    return neg_errno(fi != nullptr ? futimens(handle(fi).fd, tv)
                                   : utimensat(s.backing_fd, rel(path), tv, AT_SYMLINK_NOFOLLOW));
  });
}

// Opens (or creates) the backing file for fi->flags and attaches a Handle.
int open_backing(State& s, const char* path, fuse_file_info* fi, bool create, mode_t mode) {
  const int flags = fi->flags;
  const bool writes = (flags & O_ACCMODE) != O_RDONLY;
  // Our own I/O is plain buffered I/O on the backing file; durability is the journal's business.
  int backing = (flags & ~(O_ACCMODE | O_DIRECT | O_DSYNC | O_SYNC | O_APPEND | O_NOCTTY)) | O_CLOEXEC;
  backing |= writes ? O_RDWR : O_RDONLY;
  if (create) backing |= O_CREAT;
  const int fd = openat(s.backing_fd, rel(path), backing, mode);
  if (fd < 0) return -errno;
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int rc = -errno;
    close(fd);
    return rc;
  }
  if ((flags & O_TRUNC) != 0) s.journal.truncated(st.st_ino, 0);
  if ((flags & O_DIRECT) != 0) ++s.stats.direct_opens;
  fi->fh = reinterpret_cast<uint64_t>(new Handle{fd, st.st_ino, (flags & O_DSYNC) != 0});
  fi->keep_cache = 0;  // the kernel drops its cached pages at every open: a cut shows at once
  return 0;
}

int op_open(const char* path, fuse_file_info* fi) {
  const bool writes = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC) != 0;
  if (!writes) return open_backing(state(), path, fi, false, 0);
  return change([&](State& s) { return open_backing(s, path, fi, false, 0); });
}

int op_create(const char* path, mode_t mode, fuse_file_info* fi) {
  return change([&](State& s) { return open_backing(s, path, fi, true, mode); });
}

int op_read(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = pread(handle(fi).fd, buf + done, size - done, offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<int>(done);
}

// A device's write or flush time: random, up to max_us.
void device_delay(uint32_t max_us) {
  if (max_us == 0) return;
  thread_local std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<uint32_t> us(0, max_us);
  std::this_thread::sleep_for(std::chrono::microseconds(us(rng)));
}

int op_write(const char* path, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  device_delay(state().write_delay_us);  // the write lands (an fsync can cover it) only after it
  return change([&](State& s) {
    const Handle& h = handle(fi);
    const auto off = static_cast<uint64_t>(offset);
    int rc = s.journal.before_write(h.ino, h.fd, path, off, size);
    if (rc < 0) return rc;
    size_t done = 0;
    while (done < size) {
      const ssize_t n = pwrite(h.fd, buf + done, size - done, offset + static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return n < 0 ? -errno : -EIO;
      done += static_cast<size_t>(n);
    }
    ++s.stats.writes;
    s.stats.write_bytes += size;
    if (h.dsync) {
      ++s.stats.dsync_writes;
      s.journal.flushed_range(h.ino, off, size);
    }
    return static_cast<int>(size);
  });
}

int op_statfs(const char*, struct statvfs* sv) { return neg_errno(fstatvfs(state().backing_fd, sv)); }

int op_flush(const char*, fuse_file_info*) { return 0; }  // close() flushes nothing to a disk

int op_release(const char*, fuse_file_info* fi) {
  Handle* h = &handle(fi);
  close(h->fd);
  delete h;
  return 0;
}

int op_fsync(const char*, int datasync, fuse_file_info* fi) {
  uint64_t covered = 0;  // the writes completed before this fsync arrived
  const int rc = change([&](State& s) {
    covered = s.journal.writes();
    return 0;
  });
  if (rc < 0) return rc;
  device_delay(state().flush_delay_us);
  return change([&](State& s) {
    s.journal.flushed(handle(fi).ino, covered);
    ++(datasync != 0 ? s.stats.fdatasyncs : s.stats.fsyncs);
    return 0;
  });
}

int op_fsyncdir(const char*, int, fuse_file_info*) {
  return change([&](State& s) {
    ++s.stats.dir_fsyncs;
    return 0;
  });
}

int op_fallocate(const char* path, int mode, off_t offset, off_t length, fuse_file_info* fi) {
  return change([&](State& s) {
    const Handle& h = handle(fi);
    // Zeroing or punching changes data: unflushed like a write. Plain allocation is metadata.
    if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0) {
      const int rc = s.journal.before_write(h.ino, h.fd, path, static_cast<uint64_t>(offset),
                                            static_cast<uint64_t>(length));
      if (rc < 0) return rc;
    }
    return neg_errno(fallocate(h.fd, mode, offset, length));
  });
}

void* op_init(fuse_conn_info*, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->hard_remove = 1;  // no .fuse_hidden files: an unlinked open file is simply gone
  cfg->kernel_cache = 0;
  cfg->attr_timeout = 0;
  cfg->entry_timeout = 0;
  cfg->negative_timeout = 0;
  return fuse_get_context()->private_data;
}

fuse_operations make_operations() {
  fuse_operations o{};
  o.getattr = op_getattr;
  o.access = op_access;
  o.readdir = op_readdir;
  o.mkdir = op_mkdir;
  o.rmdir = op_rmdir;
  o.unlink = op_unlink;
  o.rename = op_rename;
  o.chmod = op_chmod;
  o.chown = op_chown;
  o.truncate = op_truncate;
  o.utimens = op_utimens;
  o.open = op_open;
  o.create = op_create;
  o.read = op_read;
  o.write = op_write;
  o.statfs = op_statfs;
  o.flush = op_flush;
  o.release = op_release;
  o.fsync = op_fsync;
  o.fsyncdir = op_fsyncdir;
  o.fallocate = op_fallocate;
  o.init = op_init;
  return o;
}

}  // namespace

const fuse_operations& operations() {
  static const fuse_operations ops = make_operations();
  return ops;
}

}  // namespace faultfs
