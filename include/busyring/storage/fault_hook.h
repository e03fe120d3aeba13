// Storage fault injection at the completion boundary (as TigerBeetle's simulated storage does),
// compiled only into the test binary busyring-faulty (-DBR_FAULT_INJECTION). It rewrites the
// result of chosen log writes, counted per shard thread, from the environment:
//   BUSYRING_FAULTS="eio@5,enospc@9+3,short@12,fsync@7"   (kind@N[+K]: the Nth write, K in a
//   row; fsync@N fails the fdatasync after the Nth durable write with EIO)
// It also plants two whole-run bugs, by bare name in the same list, that a kill -9 cannot show
// (the page cache survives it) and the power-cut tests must (tests/blackbox/power_cut_test.cpp):
//   unlinked-flush   the fdatasync is queued beside its write, not linked after it
//   no-flush         --ack durable writes and acknowledges without any fdatasync
// In every other build fault_filter() returns the result untouched and no bug is planted.
#pragma once

#include <cstdint>
#include <string>

namespace busyring::storage {

enum class PlantedBug : uint8_t { unlinked_flush, no_flush };

// Start-up, just before recovery: in busyring-faulty with BUSYRING_RECOVERY_GATE=FIFO, it logs
// that recovery waits and where the port is bound ("bound HOST:PORT"), then waits until the
// FIFO is opened for writing and closed (tests hold recovery there to see what a client meets
// during a long recovery). In every other build it returns at once. Not inline: the faulty
// binary's definition replaces the library's at link time.
void recovery_gate(const std::string& bound) noexcept;

#ifdef BR_FAULT_INJECTION
int fault_filter(int res, uint32_t len) noexcept;
int fault_filter_sync(int res) noexcept;
bool fault_planted(PlantedBug bug) noexcept;
#else
inline int fault_filter(int res, uint32_t /*len*/) noexcept { return res; }
inline int fault_filter_sync(int res) noexcept { return res; }
inline bool fault_planted(PlantedBug /*bug*/) noexcept { return false; }
#endif

}  // namespace busyring::storage
