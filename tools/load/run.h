// A whole run of busyring-load: opens the outputs, starts the worker threads on one common
// start time, shows the live line on a terminal, merges the workers' results and reports.
#pragma once

#include "options.h"

namespace busyring::load {

// Returns the process exit status: 0 after a run, 1 if it could not start or write results.
[[nodiscard]] int run_load(const Options& options);

}  // namespace busyring::load
