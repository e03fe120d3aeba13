// base/io: whole transfers survive what a blocking fd does to a plain loop. A signal without
// SA_RESTART is delivered while a thread is blocked in read(2) or write(2) on a pipe (seen in
// /proc/self/task/TID/syscall), so the syscall returns EINTR or a short count; the helper must
// retry and resume, and the bytes arrive whole and in order. Ends of file, size caps and errors
// come back as -errno.
#include "busyring/base/io.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "../support/temp_dir.h"

using namespace busyring;

namespace {

std::atomic<int> g_signals{0};
void count_signal(int) { g_signals.fetch_add(1); }

// SIGUSR1 handled without SA_RESTART while alive: a blocked syscall it hits is interrupted.
class InterruptingSignal {
 public:
  InterruptingSignal() {
    struct sigaction sa {};
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, &old_);
  }
  ~InterruptingSignal() { sigaction(SIGUSR1, &old_, nullptr); }

 private:
  struct sigaction old_ {};
};

// The syscall number thread `tid` is blocked in (the first field of its /proc syscall file),
// or -1 while it runs.
long blocked_in(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long nr = -1;
  if (!(in >> nr)) return -1;
  return nr;
}

// Waits (10 s at most) until thread `tid` is blocked in syscall `nr`.
bool wait_blocked_in(pid_t tid, long nr) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (blocked_in(tid) != nr) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

bool wait_signals(int count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (g_signals.load() < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

struct Pipe {
  Pipe() { REQUIRE(pipe2(fds, O_CLOEXEC) == 0); }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (fds[0] >= 0) ::close(fds[0]);
    fds[0] = -1;
  }
  void close_write() {
    if (fds[1] >= 0) ::close(fds[1]);
    fds[1] = -1;
  }
  int fds[2] = {-1, -1};
};

std::string pattern(size_t bytes) {
  std::string s(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
  return s;
}

}  // namespace

TEST_CASE("read_all retries a read a signal interrupts and reads to the end", "[base][io]") {
  InterruptingSignal handler;
  Pipe p;
  std::atomic<pid_t> tid{0};
  std::string got;
  int rc = 1;
  std::thread reader([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    rc = base::read_all(p.fds[0], got, 1 << 20);
  });
  while (tid.load() == 0) std::this_thread::yield();
  const int before = g_signals.load();
  REQUIRE(wait_blocked_in(tid, SYS_read));
  pthread_kill(reader.native_handle(), SIGUSR1);
  REQUIRE(wait_signals(before + 1));
  // Interrupted with nothing read, read(2) failed with EINTR: the helper went back to it.
  REQUIRE(wait_blocked_in(tid, SYS_read));
  const std::string text = "first piece, ";
  REQUIRE(write(p.fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  REQUIRE(write(p.fds[1], "second", 6) == 6);
  p.close_write();
  reader.join();
  CHECK(rc == 0);
  CHECK(got == "first piece, second");
}

TEST_CASE("write_all resumes a write a signal cuts short, and every byte arrives in order", "[base][io]") {
  InterruptingSignal handler;
  Pipe p;
  const std::string payload = pattern(1 << 20);  // far more than the pipe holds (64 KiB)
  std::atomic<pid_t> tid{0};
  int rc = 1;
  std::thread writer([&] {
    tid = static_cast<pid_t>(syscall(SYS_gettid));
    rc = base::write_all(p.fds[1], payload.data(), payload.size());
    p.close_write();
  });
  while (tid.load() == 0) std::this_thread::yield();
  // Blocked with the pipe full: some bytes are in, so the interrupted write(2) returns a short
  // count (not EINTR), and the helper must write the rest.
  std::string got;
  for (int round = 0; round < 3; ++round) {
    const int before = g_signals.load();
    REQUIRE(wait_blocked_in(tid, SYS_write));
    pthread_kill(writer.native_handle(), SIGUSR1);
    REQUIRE(wait_signals(before + 1));
    char drain[1000];  // room for the next write, which then blocks again
    const ssize_t n = base::read_some(p.fds[0], drain, sizeof drain);
    REQUIRE(n > 0);
    got.append(drain, static_cast<size_t>(n));
  }
  CHECK(base::read_all(p.fds[0], got, payload.size()) == 0);
  writer.join();
  CHECK(rc == 0);
  REQUIRE(got.size() == payload.size());
  CHECK(got == payload);
}

TEST_CASE("pread_all and pwrite_all move exactly the bytes asked for, at the offset given", "[base][io]") {
  test::TempDir dir;
  const std::string path = dir.sub("file");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  const std::string text = pattern(100000);
  REQUIRE(base::pwrite_all(fd, text.data(), text.size(), 4096) == 0);
  std::string back(text.size(), '\0');
  CHECK(base::pread_all(fd, back.data(), back.size(), 4096) == 0);
  CHECK(back == text);
  char head[4096];
  CHECK(base::pread_all(fd, head, sizeof head, 0) == 0);
  CHECK(std::string(head, sizeof head) == std::string(sizeof head, '\0'));  // the hole before it
  // The file ends 10 bytes into this read: an early end is -EIO, never a silent short read.
  CHECK(base::pread_all(fd, back.data(), 20, 4096 + text.size() - 10) == -EIO);
  CHECK(base::pread_some(fd, back.data(), 20, 4096 + text.size() - 10) == 10);
  CHECK(base::pread_some(fd, back.data(), 20, 4096 + text.size()) == 0);
  ::close(fd);
  const int ro = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(ro >= 0);
  CHECK(base::pwrite_all(ro, text.data(), 10, 0) == -EBADF);
  CHECK(base::write_all(ro, text.data(), 10) == -EBADF);
  ::close(ro);
}

TEST_CASE("read_all and read_file cap the size and report a missing file", "[base][io]") {
  test::TempDir dir;
  const std::string path = dir.sub("text");
  std::string out;
  CHECK(base::read_file(path, out, 100) == -ENOENT);
  {
    std::ofstream f(path);
    f << pattern(200000);
  }
  CHECK(base::read_file(path, out, 200000) == 0);
  CHECK(out == pattern(200000));
  out.clear();
  CHECK(base::read_file(path, out, 199999) == -EFBIG);
  out.clear();
  CHECK(base::read_file(dir.path(), out, 100) == -EISDIR);
  std::string empty_file_text = "kept";
  std::ofstream(dir.sub("empty")).flush();
  CHECK(base::read_file(dir.sub("empty"), empty_file_text, 100) == 0);
  CHECK(empty_file_text == "kept");  // appended to, never cleared
}

TEST_CASE("read_secret reads into one buffer it never reallocates, up to its cap", "[base][io]") {
  test::TempDir dir;
  const std::string path = dir.sub("secret");
  const auto read_secret_file = [&](size_t max_bytes, std::string& out) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    const int rc = base::read_secret(fd, out, max_bytes);
    ::close(fd);
    return rc;
  };
  std::string out = "old";
  std::ofstream(path).flush();
  CHECK(read_secret_file(64, out) == 0);
  CHECK(out.empty());  // replaced, not appended to
  {
    std::ofstream f(path);
    f << pattern(5000);
  }
  CHECK(read_secret_file(5000, out) == 0);
  CHECK(out == pattern(5000));
  // The bytes stay where they were read: the buffer was sized once for max_bytes + 1.
  CHECK(out.capacity() >= 5001);
  CHECK(read_secret_file(4999, out) == -EFBIG);
  CHECK(read_secret_file(0, out) == -EFBIG);
  // Through a pipe that delivers the secret in pieces, every piece lands in order.
  int p[2];
  REQUIRE(::pipe(p) == 0);
  std::thread writer([&] {
    const std::string text = pattern(3000);
    for (size_t at = 0; at < text.size(); at += 700) {
      CHECK(base::write_all(p[1], text.data() + at, std::min<size_t>(700, text.size() - at)) == 0);
      std::this_thread::yield();
    }
    ::close(p[1]);
  });
  std::string piped;
  CHECK(base::read_secret(p[0], piped, 4096) == 0);
  writer.join();
  ::close(p[0]);
  CHECK(piped == pattern(3000));
  CHECK(base::read_secret(-1, piped, 16) == -EBADF);
}

TEST_CASE("write_all into a pipe nobody reads fails with -EPIPE", "[base][io]") {
  struct sigaction ignore {}, old {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &old);
  Pipe p;
  p.close_read();
  CHECK(base::write_all(p.fds[1], "x", 1) == -EPIPE);
  CHECK(base::write_all(p.fds[1], "", 0) == 0);  // nothing to write: no syscall, no error
  sigaction(SIGPIPE, &old, nullptr);
}
