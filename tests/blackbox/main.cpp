// The black-box suite's entry point: Catch2's main and nothing else. The tests start the real
// server binary (BUSYRING_BIN, default build/release/busyring, relative to the repo root).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
