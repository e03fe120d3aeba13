// Shard stall injection for the watchdog tests, compiled only into busyring-faulty
// (-DBR_FAULT_INJECTION), as the storage fault hook is (storage/fault_hook.h):
//   BUSYRING_FAULTS="stall_shard@K"  BUSYRING_STALL_FILE=PATH
// blocks shard K's loop at the top of a turn for as long as PATH exists (checked every 10 ms):
// a stand-in for a blocking call, which a test starts by creating the file and ends by
// removing it. In every other build fault_stall_point() is empty.
#pragma once

#include <cstdint>

namespace busyring::net {

#ifdef BR_FAULT_INJECTION
void fault_stall_point(uint32_t shard) noexcept;
#else
inline void fault_stall_point(uint32_t /*shard*/) noexcept {}
#endif

}  // namespace busyring::net
