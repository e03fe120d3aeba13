// The shard stall of busyring-faulty (see fault_stall.h); empty in normal builds.
#include "fault_stall.h"

#ifdef BR_FAULT_INJECTION
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

#include "busyring/base/log.h"

namespace busyring::net {
namespace {

struct Stall {
  bool armed = false;
  uint32_t shard = 0;
  std::string file;
};

// The first stall_shard@K of BUSYRING_FAULTS (the storage hook skips this kind).
Stall parse_stall() {
  Stall s;
  const char* faults = std::getenv("BUSYRING_FAULTS");
  const char* file = std::getenv("BUSYRING_STALL_FILE");
  if (faults == nullptr) return s;
  const char* at = std::strstr(faults, "stall_shard@");
  if (at == nullptr) return s;
  if (file == nullptr || file[0] == '\0') {
    BR_LOG_ERROR("BUSYRING_FAULTS asks for stall_shard but BUSYRING_STALL_FILE is not set; no stall");
    return s;
  }
  s.shard = static_cast<uint32_t>(std::strtoul(at + std::strlen("stall_shard@"), nullptr, 10));
  s.file = file;
  s.armed = true;
  BR_LOG_WARN("fault injection active: shard %u stalls while %s exists", s.shard, file);
  return s;
}

const Stall& stall() {
  static const Stall s = parse_stall();
  return s;
}

}  // namespace

void fault_stall_point(uint32_t shard) noexcept {
  const Stall& s = stall();
  if (!s.armed || s.shard != shard) return;
  bool logged = false;
  while (access(s.file.c_str(), F_OK) == 0) {
    if (!logged) BR_LOG_WARN("fault injection: shard %u is stalled", shard);
    logged = true;
    const timespec ten_ms{0, 10'000'000};
    nanosleep(&ten_ms, nullptr);
  }
  if (logged) BR_LOG_WARN("fault injection: shard %u runs again", shard);
}

}  // namespace busyring::net
#endif
