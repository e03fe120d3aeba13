// Dispatch from a parsed command line to its command, and the one shape of error line every
// command prints ("busyring-log: <command>: <what is wrong>").
#include "commands.h"

namespace busyring::logtool {

void print_error(std::FILE* err, Command command, const std::string& message) {
  std::fprintf(err, "busyring-log: %s: %s\n", command_name(command), message.c_str());
}

int run_command(const Options& options, std::FILE* out, std::FILE* err) {
  switch (options.command) {
    case Command::verify: return run_verify(options, out, err);
    case Command::export_records: return run_export(options, out, err);
    case Command::dump: return run_dump(options, out, err);
    case Command::stats: return run_stats(options, out, err);
    case Command::salvage: return run_salvage(options, out, err);
    case Command::checkpoint: return run_checkpoint(options, out, err);
    case Command::retire: return run_retire(options, out, err);
    case Command::compact: return run_compact(options, out, err);
  }
  return 2;
}

}  // namespace busyring::logtool
