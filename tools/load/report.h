// The end-of-run summary: what a run measured (RunResult) and its two renderings, a short
// human text and one JSON object (--json) for scripts. Latencies are reported in microseconds.
#pragma once

#include <cstdio>

#include "histogram.h"
#include "options.h"
#include "stats.h"

namespace busyring::load {

struct RunResult {
  Stats stats;
  Histogram histogram;  // latency in ns, from each request's intended send time
  double duration_s = 0;
  double cpu_user_s = 0;  // of this process (getrusage), setup included
  double cpu_sys_s = 0;
};

void print_text(std::FILE* out, const Options& options, const RunResult& result);
void print_json(std::FILE* out, const Options& options, const RunResult& result);

}  // namespace busyring::load
