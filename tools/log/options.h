// Command line of busyring-log: the command, its data dirs and flags (one table, base/flags.h,
// drives parsing and --help in the dialect of every busyring tool). Parsing is pure (no I/O)
// so it is unit-tested; main() prints the one error line and exits 2 on bad usage.
// verify, dump and salvage take one DIR; export, stats and retire take one or more; `checkpoint
// commit FILE` takes no DIR.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace busyring::logtool {

enum class Command : uint8_t { verify, export_records, dump, stats, salvage, checkpoint, retire, compact };
enum class Format : uint8_t { jsonl, csv };

// A record is exported since a checkpoint only once it arrived this long ago: by then the
// write that holds it (and any write in flight before it) has landed or been voided.
inline constexpr uint64_t kDefaultSettleS = 10;
inline constexpr uint64_t kMaxSettleS = 86'400;

struct Options {
  Command command = Command::verify;
  std::vector<std::string> dirs;
  Format format = Format::jsonl;        // export
  uint64_t from_id = 0;                 // export: records with id >= from_id
  std::string checkpoint;               // export --since-checkpoint FILE; checkpoint commit FILE;
                                        // retire --checkpoint FILE
  uint64_t settle_s = kDefaultSettleS;  // export --since-checkpoint: younger records wait;
                                        // compact: a segment is sealed once a later one begins
                                        // with a record this old
  bool settle_given = false;            // --settle was on the command line
  bool json = false;                    // stats
};

enum class ParseOutcome : uint8_t { run, help, version, error };

// Fills *out from argv; on `error`, *error holds one line saying what is wrong.
[[nodiscard]] ParseOutcome parse_args(int argc, const char* const* argv, Options* out, std::string* error);
[[nodiscard]] std::string usage_text();
const char* command_name(Command command);

}  // namespace busyring::logtool
