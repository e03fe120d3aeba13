// FaultFs: busyring-faultfs as a Program, talked to over its unix control socket.
#include "fault_fs.h"

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <catch2/catch.hpp>

namespace blackbox {

std::string faultfs_bin() {
  const char* env = std::getenv("BUSYRING_FAULTFS_BIN");
  if (env != nullptr && *env != '\0') return env;
  const std::string server = server_bin();
  const size_t slash = server.find_last_of('/');
  return (slash == std::string::npos ? std::string(".") : server.substr(0, slash)) + "/busyring-faultfs";
}

FaultFs::FaultFs(Options options)
    : backing_(dir_.sub("backing")), mount_(dir_.sub("mnt")), control_(dir_.sub("control")) {
  REQUIRE(mkdir(backing_.c_str(), 0755) == 0);
  REQUIRE(mkdir(mount_.c_str(), 0755) == 0);
  const std::string bin = faultfs_bin();
  INFO(bin << " (built by make test; needs libfuse3-dev, fuse3 and /dev/fuse)");
  REQUIRE(access(bin.c_str(), X_OK) == 0);
  char keep[32];
  std::snprintf(keep, sizeof keep, "%.3f", options.keep);
  daemon_ = std::make_unique<Program>(std::vector<std::string>{bin, backing_, mount_, "--control", control_, "--keep",
                                                               keep, "--write-delay-us",
                                                               std::to_string(options.write_delay_us),
                                                               "--flush-delay-us",
                                                               std::to_string(options.flush_delay_us)});
  const bool mounted = daemon_->wait_output("faultfs: mounted", 10'000);
  INFO(daemon_->output());
  REQUIRE(mounted);
  REQUIRE(mkdir(data_dir().c_str(), 0755) == 0);  // through the mount: it works
}

FaultFs::~FaultFs() {
  if (daemon_ != nullptr && daemon_->running()) (void)daemon_->stop(SIGTERM, 10'000);
  umount2(mount_.c_str(), MNT_DETACH);  // harmless when already unmounted
}

std::string FaultFs::command(const std::string& line) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  REQUIRE(control_.size() < sizeof a.sun_path);
  std::memcpy(a.sun_path, control_.c_str(), control_.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const bool connected = connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  const std::string request = line + "\n";
  const bool sent = connected && write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size());
  std::string reply;
  char buf[4096];
  while (sent) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  INFO("control command '" << line << "': " << std::strerror(errno) << "\n" << daemon_->output());
  REQUIRE(sent);
  REQUIRE(!reply.empty());
  REQUIRE(reply.rfind("error", 0) != 0);
  return reply;
}

FaultFs::Cut FaultFs::cut(uint64_t seed) {
  Cut c;
  c.text = command("cut " + std::to_string(seed));
  unsigned long long v[5] = {};
  INFO(c.text);
  REQUIRE(std::sscanf(c.text.c_str(), "cut seed=%llu files=%llu pages=%llu kept=%llu dropped=%llu", &v[0], &v[1],
                      &v[2], &v[3], &v[4]) == 5);
  c.seed = v[0];
  c.files = v[1];
  c.pages = v[2];
  c.kept = v[3];
  c.dropped = v[4];
  REQUIRE(c.seed == seed);
  return c;
}

void FaultFs::resume() { REQUIRE(command("resume") == "resumed\n"); }

std::string FaultFs::stats() { return command("stats"); }

uint64_t FaultFs::stat(const std::string& name) {
  const std::string s = stats();
  const size_t at = s.find(name + "=");
  INFO(s);
  REQUIRE(at != std::string::npos);
  REQUIRE((at == 0 || s[at - 1] == ' '));
  return std::strtoull(s.c_str() + at + name.size() + 1, nullptr, 10);
}

}  // namespace blackbox
