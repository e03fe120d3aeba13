// A full disk, for real: a 48 MiB ext4 image on a loop device as --data-dir, with a filler file
// that leaves room for about three 4 MiB segments. Posting until the next segment cannot be
// created gives 503 with Retry-After and /healthz 503; the log then holds exactly the
// acknowledged records; once the filler is deleted the server acknowledges again, without a
// restart, within the bounded time of its once-a-second retry. Needs root, loop devices and
// mkfs.ext4 (Debian package e2fsprogs); without them the test fails and says which is missing.
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kSegmentBytes = 4 * kMiB;
constexpr size_t kBodyPad = 4000;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// The image, its mount point and the mount, undone in reverse on every path (also when an
// assertion throws): unmount (lazily if busy; mount -o loop frees the loop device with it),
// then TempDir removes the image.
class LoopMount {
 public:
  explicit LoopMount(uint64_t bytes) {
    image_ = base_.sub("ext4.img");
    dir_ = base_.sub("mnt");
    if (geteuid() != 0) {
      why_ = "not running as root (mount -o loop needs it)";
      return;
    }
    std::string out;
    const std::string cmd = "truncate -s " + std::to_string(bytes) + " " + quoted(image_) +
                            " && mkfs.ext4 -q -F -m 0 " + quoted(image_) + " && mkdir " + quoted(dir_) +
                            " && mount -o loop " + quoted(image_) + " " + quoted(dir_);
    if (run_command(cmd, &out) != 0) {
      why_ = "cannot mount an ext4 image on a loop device: " + out;
      return;
    }
    mounted_ = true;
  }
  ~LoopMount() {
    if (!mounted_) return;
    if (run_command("umount " + quoted(dir_)) != 0) (void)run_command("umount -l " + quoted(dir_));
  }
  LoopMount(const LoopMount&) = delete;
  LoopMount& operator=(const LoopMount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_; }
  const std::string& dir() const { return dir_; }

 private:
  TempDir base_;
  std::string image_, dir_, why_;
  bool mounted_ = false;
};

uint64_t available_bytes(const std::string& dir) {
  struct statvfs st {};
  REQUIRE(statvfs(dir.c_str(), &st) == 0);
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

void make_filler(const std::string& path, uint64_t bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  const int rc = posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  REQUIRE(fsync(fd) == 0);
  close(fd);
  REQUIRE(rc == 0);
}

}  // namespace

TEST_CASE("full disk (loop-mounted ext4): 503 with Retry-After, exact log, recovery without restart",
          "[durability][full-disk]") {
  LoopMount mount(48 * kMiB);
  if (!mount.mounted()) FAIL("cannot run the full disk test: " << mount.why_not());
  const std::string data_dir = mount.dir();
  const std::string filler = mount.dir() + "/filler";
  // Room for segment 0 (created at start), 1 and 2 (each prepared once the one before is half
  // full) and half of another: the preparation of segment 3 fails with ENOSPC.
  const uint64_t room = 3 * kSegmentBytes + kSegmentBytes / 2;
  const uint64_t avail = available_bytes(data_dir);
  INFO(avail << " bytes available on the image");
  REQUIRE(avail > room + kMiB);
  make_filler(filler, avail - room);

  auto server = start_server(data_dir, {"--threads", "1", "--segment-size", "4M"});
  IdBodies acked;
  {
    // ~4 KiB bodies fill 12 MiB of segments with about 3,000 records.
    LoadDriver load(server->port(), LoadOptions{8, 1, "fill", kBodyPad});
    INFO("stderr:\n" << server->stderr_text());
    const bool full = wait_until([&] { return load.unavailable() >= 50; }, 60'000);
    load.stop();
    REQUIRE(full);
    uint64_t unavailable = 0;
    for (const auto& log : load.logs()) {
      CHECK(log.other_statuses.empty());
      CHECK(log.bad_201_bodies.empty());
      CHECK(log.unavailable_without_retry_after == 0);
      unavailable += log.unavailable;
    }
    CHECK(unavailable >= 50);
    acked = load.acked_ids();
    REQUIRE(acked.size() > 1000);  // it filled segments before it refused
  }
  Client c(server->port());
  {
    const Response h = roundtrip(c, get_request("/healthz"));
    INFO("/healthz: " << h.status << " " << h.body);
    CHECK(h.status == 503);
    // A record as big as those refused still finds no room (a smaller one might still fit
    // in the last segment's tail, and would rightly get 201).
    const std::string body = usage_body("still-full" + std::string(kBodyPad, 'p'));
    const Response r = roundtrip(c, post_request(body));
    if (r.status == 201) acked.emplace(id_of(r), body);
    CHECK(r.status == 503);
    CHECK(r.header("Retry-After").has_value());
  }
  CHECK(server->stderr_text().find("No space left on device") != std::string::npos);

  // Space comes back: the server retries every second and acknowledges again, no restart.
  // The bodies stay as big as the refused ones, so a 201 means a new segment was created.
  REQUIRE(unlink(filler.c_str()) == 0);
  const int64_t freed_ms = now_ms();
  int freed_attempts = 0;
  const bool acks_again = wait_until(
      [&] {
        ++freed_attempts;
        const std::string body = usage_body("after-free-" + std::to_string(freed_attempts) + std::string(kBodyPad, 'p'));
        const Response r = roundtrip(c, post_request(body));
        if (r.status == 201) REQUIRE(acked.emplace(id_of(r), body).second);
        else CHECK(r.status == 503);
        return r.status == 201;
      },
      10'000);
  const int64_t recovered_after_ms = now_ms() - freed_ms;
  INFO("stderr:\n" << server->stderr_text());
  REQUIRE(acks_again);
  CHECK(wait_until([&] { return roundtrip(c, get_request("/healthz")).status == 200; }, 5'000));
  for (int i = 0; i < 100; ++i) {
    const std::string body = usage_body("after-free-more-" + std::to_string(i) + std::string(kBodyPad, 'p'));
    const Response r = roundtrip(c, post_request(body));
    REQUIRE(r.status == 201);
    REQUIRE(acked.emplace(id_of(r), body).second);
  }
  const ExitStatus st = server->stop();
  INFO(describe(st) << "\n" << server->stderr_text());
  REQUIRE(st.exited);
  CHECK(st.code == 0);

  // Exactly the acknowledged records: every 201 is there, no 503'd record is.
  const IdBodies on_disk = stored_unique(data_dir);
  CHECK(on_disk.size() == acked.size());
  for (const auto& [id, body] : acked) {
    INFO("acknowledged id " << id);
    REQUIRE(on_disk.count(id) == 1);
    CHECK(on_disk.at(id) == body);
  }
  for (const auto& [id, body] : on_disk) {
    INFO("id " << id << " is on disk but was never acknowledged");
    CHECK(acked.count(id) == 1);
  }
  WARN("full disk: " << acked.size() << " acknowledged, " << on_disk.size()
                     << " on disk; 201 again " << recovered_after_ms << " ms after the filler was deleted");
}
