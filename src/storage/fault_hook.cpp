// The fault hook of busyring-faulty (see fault_hook.h); empty in normal builds.
#include "busyring/storage/fault_hook.h"

#ifdef BR_FAULT_INJECTION
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "busyring/base/log.h"

namespace busyring::storage {
namespace {

struct Fault {
  int kind;  // -errno, 1 for a short write, 2 for a failed fdatasync, 3 + PlantedBug for a bug
  uint64_t first;
  uint64_t count;
};

constexpr int kPlanted = 3;

std::vector<Fault> parse_faults() {
  std::vector<Fault> out;
  const char* env = std::getenv("BUSYRING_FAULTS");
  if (env == nullptr) return out;
  std::string spec = env;
  size_t pos = 0;
  while (pos < spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    pos = comma + 1;
    const size_t at = item.find('@');
    if (item == "unlinked-flush" || item == "no-flush") {
      const auto bug = item == "no-flush" ? PlantedBug::no_flush : PlantedBug::unlinked_flush;
      out.push_back(Fault{kPlanted + static_cast<int>(bug), 0, 0});
      continue;
    }
    if (at == std::string::npos) continue;
    const std::string kind = item.substr(0, at);
    Fault f{0, std::strtoull(item.c_str() + at + 1, nullptr, 10), 1};
    const size_t plus = item.find('+', at);
    if (plus != std::string::npos) f.count = std::strtoull(item.c_str() + plus + 1, nullptr, 10);
    if (kind == "eio") f.kind = -EIO;
    else if (kind == "enospc") f.kind = -ENOSPC;
    else if (kind == "short") f.kind = 1;
    else if (kind == "fsync") f.kind = 2;
    else continue;
    out.push_back(f);
  }
  if (!out.empty()) BR_LOG_WARN("fault injection active: BUSYRING_FAULTS=%s", env);
  return out;
}

const std::vector<Fault>& faults() {
  static const std::vector<Fault> f = parse_faults();
  return f;
}

}  // namespace

int fault_filter(int res, uint32_t len) noexcept {
  thread_local uint64_t writes = 0;
  const uint64_t n = ++writes;
  for (const Fault& f : faults()) {
    if (f.kind >= 2 || n < f.first || n >= f.first + f.count) continue;
    if (f.kind == 1) return res > 0 ? static_cast<int>(len / 2) : res;
    return f.kind;
  }
  return res;
}

int fault_filter_sync(int res) noexcept {
  thread_local uint64_t syncs = 0;
  const uint64_t n = ++syncs;
  for (const Fault& f : faults())
    if (f.kind == 2 && n >= f.first && n < f.first + f.count) return -EIO;
  return res;
}

bool fault_planted(PlantedBug bug) noexcept {
  for (const Fault& f : faults())
    if (f.kind == kPlanted + static_cast<int>(bug)) return true;
  return false;
}

void recovery_gate(const std::string& bound) noexcept {
  const char* fifo = std::getenv("BUSYRING_RECOVERY_GATE");
  if (fifo == nullptr) return;
  BR_LOG_WARN("fault injection: recovery waits for %s to be written (bound %s)", fifo, bound.c_str());
  const int fd = open(fifo, O_RDONLY | O_CLOEXEC);  // blocks until a writer opens it
  if (fd < 0) return;
  char buf[64];
  while (read(fd, buf, sizeof buf) > 0) {
  }
  close(fd);
}

}  // namespace busyring::storage

#else

namespace busyring::storage {

void recovery_gate(const std::string& /*bound*/) noexcept {}

}  // namespace busyring::storage
#endif
