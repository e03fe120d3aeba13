// busyring-load: the open-loop HTTP load generator's entry point. It only parses flags
// (--help: usage on stdout, exit 0; --version: version, commit and build mode; a bad flag:
// one line on stderr, exit 2) and hands the options to run_load(), whose result is the exit
// status.
#include <cstdio>
#include <string>

#include "busyring/base/version.h"
#include "options.h"
#include "run.h"

int main(int argc, char** argv) {
  using namespace busyring::load;
  Options options;
  std::string error;
  switch (parse_options(argc, argv, &options, &error)) {
    case ParseOutcome::help:
      std::fputs(usage_text().c_str(), stdout);
      return 0;
    case ParseOutcome::version:
      std::fputs(busyring::base::version_text("busyring-load").c_str(), stdout);
      return 0;
    case ParseOutcome::error:
      std::fprintf(stderr, "busyring-load: %s\n", error.c_str());
      return 2;
    case ParseOutcome::run:
      break;
  }
  return run_load(options);
}
