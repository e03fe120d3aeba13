// Command line of busyring-log: the command, its data dirs and flags. Parsing is pure (no I/O)
// so it is unit-tested; main() prints the one error line and exits 2 on bad usage.
// verify, dump and salvage take one DIR; export and stats take one or more.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace busyring::logtool {

enum class Command : uint8_t { verify, export_records, dump, stats, salvage };
enum class Format : uint8_t { jsonl, csv };

struct Options {
  Command command = Command::verify;
  std::vector<std::string> dirs;
  Format format = Format::jsonl;  // export
  uint64_t from_id = 0;           // export: records with id >= from_id
  bool json = false;              // stats
};

enum class ParseOutcome : uint8_t { run, help, error };

// Fills *out from argv; on `error`, *error holds one line saying what is wrong.
[[nodiscard]] ParseOutcome parse_args(int argc, const char* const* argv, Options* out, std::string* error);
[[nodiscard]] const char* usage_text();
const char* command_name(Command command);

}  // namespace busyring::logtool
