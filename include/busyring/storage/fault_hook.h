// Storage fault injection at the completion boundary (as TigerBeetle's simulated storage does),
// compiled only into the test binary busyring-faulty (-DBR_FAULT_INJECTION). It rewrites the
// result of chosen log writes, counted per shard thread, from the environment:
//   BUSYRING_FAULTS="eio@5,enospc@9+3,short@12"   (kind@N[+K]: the Nth write, K in a row)
// In every other build fault_filter() returns the result untouched.
#pragma once

#include <cstdint>

namespace busyring::storage {

#ifdef BR_FAULT_INJECTION
int fault_filter(int res, uint32_t len) noexcept;
#else
inline int fault_filter(int res, uint32_t /*len*/) noexcept { return res; }
#endif

}  // namespace busyring::storage
