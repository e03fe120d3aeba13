// Running an outside program from a test (psql, redis-cli, busyring-log, load.sh): its own
// process group, extra environment, stdin, both outputs kept, and a deadline after which the
// whole group is killed.
#pragma once

#include <string>
#include <vector>

#include "harness.h"

namespace blackbox {

struct CommandRun {
  ExitStatus status;
  std::string out;
  std::string err;
  bool ok() const { return status.exited && status.code == 0; }
};

// Runs argv (argv[0] a path) in its own process group, in `cwd` (empty: ours), with our
// environment plus `env` ("NAME=value", overriding) and `input` on stdin; SIGKILLs the group at
// the deadline (then status.timed_out).
CommandRun run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
                       const std::string& input = "", int timeout_ms = 30'000, const std::string& cwd = "");

}  // namespace blackbox
