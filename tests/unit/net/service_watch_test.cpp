// net/service_watch: a WatchdogSec= the heartbeat rule cannot honour (under four idle loop
// turns) is refused with a line saying what to change; anything from 400 ms up, or none, is fine.
#include "net/service_watch.h"

#include <catch2/catch.hpp>

using namespace busyring::net;

TEST_CASE("a watchdog shorter than four idle loop turns is refused", "[net]") {
  CHECK(watchdog_problem(0).empty());
  CHECK(watchdog_problem(400'000).empty());
  CHECK(watchdog_problem(30'000'000).empty());
  const std::string problem = watchdog_problem(399'000);
  CHECK(problem.rfind("WatchdogSec= is 399 ms, under the 400 ms busyring needs", 0) == 0);
  CHECK(problem.find("raise WatchdogSec= in the unit") != std::string::npos);
  CHECK(kShardIdleTurnNs * 4 == 400'000'000);
}
