// storage/data_dir: taking a data dir at start-up on a real filesystem. A missing dir is
// created (parents too); a second taker of the same dir is refused while the first holds its
// LOCK; a path that is a file, or a dir where the O_DIRECT probe cannot be written, is refused
// with one line that says how to fix it, and the probe file never stays behind.
#include "busyring/storage/data_dir.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "../support/temp_dir.h"

using busyring::storage::open_data_dir;
using busyring::test::TempDir;

TEST_CASE("a missing data dir is created and taken; a second taker is refused", "[storage]") {
  TempDir tmp;
  const std::string dir = tmp.sub("a/b/data");
  REQUIRE(open_data_dir(dir).ok());
  CHECK(std::filesystem::is_directory(dir));
  CHECK(std::filesystem::exists(dir + "/LOCK"));
  CHECK_FALSE(std::filesystem::exists(dir + "/.direct-io-probe"));
  // The lock is per open file description (flock): another process is the second server.
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto again = open_data_dir(dir);
    const bool refused = !again.ok() && again.error().find("another busyring is using " + dir) != std::string::npos &&
                         again.error().find("choose another --data-dir") != std::string::npos;
    _exit(refused ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("lock_data_dir gives a held lock that a second taker cannot get until it is closed", "[storage]") {
  TempDir tmp;
  const int first = busyring::storage::lock_data_dir(tmp.path());
  REQUIRE(first >= 0);
  CHECK(busyring::storage::lock_data_dir(tmp.path()) == -EWOULDBLOCK);  // its own open file: refused too
  ::close(first);
  const int again = busyring::storage::lock_data_dir(tmp.path());
  CHECK(again >= 0);
  if (again >= 0) ::close(again);
  CHECK(busyring::storage::lock_data_dir(tmp.sub("missing")) == -ENOENT);
}

TEST_CASE("a data dir path that is a file is refused with what to fix", "[storage]") {
  TempDir tmp;
  const std::string file = tmp.sub("file");
  std::ofstream(file) << "x";
  auto r = open_data_dir(file);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().find("cannot create --data-dir " + file) != std::string::npos);
}

TEST_CASE("a data dir where the direct-I/O probe cannot be written is refused with the reason", "[storage]") {
  // (tmpfs refused O_DIRECT before Linux 6.6; this kernel's takes it, so the probe is made to
  // fail by a directory in its place.)
  TempDir tmp;
  std::filesystem::create_directories(tmp.sub("data/.direct-io-probe"));
  auto r = open_data_dir(tmp.sub("data"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "cannot write in " + tmp.sub("data") + ": Is a directory (check --data-dir and its permissions)");
}
