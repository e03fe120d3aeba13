// busyring-log: reads, verifies, exports and salvages busyring data dirs with the server's
// own record codec and scanner. main() parses the command line (--help: usage on stdout, exit
// 0; --version: version, commit and build mode; bad usage: one line on stderr, exit 2) and
// runs the command, whose result is the status.
#include <cstdio>
#include <string>

#include "commands.h"
#include "busyring/base/version.h"
#include "options.h"

int main(int argc, char** argv) {
  using namespace busyring::logtool;
  Options options;
  std::string error;
  switch (parse_args(argc, argv, &options, &error)) {
    case ParseOutcome::help:
      std::fputs(usage_text().c_str(), stdout);
      return 0;
    case ParseOutcome::version:
      std::fputs(busyring::base::version_text("busyring-log").c_str(), stdout);
      return 0;
    case ParseOutcome::error:
      std::fprintf(stderr, "busyring-log: %s\n", error.c_str());
      return 2;
    case ParseOutcome::run:
      break;
  }
  static char out_buf[1 << 16];
  std::setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf);
  return run_command(options, stdout, stderr);
}
