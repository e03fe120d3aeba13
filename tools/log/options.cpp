// Flag parsing for busyring-log: the command first, then flags (`--flag value`, `--flag=value`)
// and DIR operands in any order, `--` to end the flags. A flag that belongs to another command
// is an error, so a typo never silently changes what a command does. `checkpoint` takes the
// action `commit` and the checkpoint FILE as its two operands.
#include "options.h"

#include <string_view>

#include "busyring/base/flags.h"

namespace busyring::logtool {
namespace {

struct CommandName {
  std::string_view name;
  Command command;
};

constexpr CommandName kCommands[] = {
    {"verify", Command::verify}, {"export", Command::export_records}, {"dump", Command::dump},
    {"stats", Command::stats},   {"salvage", Command::salvage},       {"checkpoint", Command::checkpoint},
    {"retire", Command::retire},  {"compact", Command::compact},
};

bool fail(std::string* error, std::string why) {
  *error = std::move(why);
  return false;
}

// The flag may be used with `command` only.
base::Flag for_command(base::Flag flag, const Options& o, Command command) {
  const std::string line = flag.name + " applies to " + command_name(command) + " only";
  return std::move(flag).only_when([&o, command, line] { return o.command == command ? "" : line; });
}

base::FlagTable export_flags(Options& o) {
  base::Flag settle = base::duration_flag(
      "--settle",
      "with --since-checkpoint: leave records younger than this for the next run, so writes in "
      "flight settle (compact: a segment is sealed once a later one begins with a record this "
      "old); a plain number is seconds",
      o.settle_s, base::DurationUnits{base::kNsPerS}, 0, kMaxSettleS * base::kNsPerS);
  settle.apply = [&o, store = std::move(settle.apply)](std::string_view v) {
    std::string expected = store(v);
    if (expected.empty()) o.settle_given = true;
    return expected;
  };
  return {
      for_command(base::choice_flag("--format", "F",
                                    "jsonl: {\"id\":N,\"shard\":K,\"arrival_ns\":T,\"body\":{...}} per line;\n"
                                    "csv: id,shard,arrival_ns,patient_id,timestamp,medication,body\n",
                                    o.format, {{"jsonl", Format::jsonl}, {"csv", Format::csv}}),
                  o, Command::export_records),
      for_command(base::count_flag("--from-id", "N", "only records with id >= N", o.from_id, 0, UINT64_MAX)
                      .defaults_to(""),
                  o, Command::export_records),
      for_command(base::text_flag("--since-checkpoint", "FILE",
                                  "only records the checkpoint FILE does not cover (all when FILE is "
                                  "missing); the advanced checkpoint goes to FILE.next, FILE itself is "
                                  "left alone until `checkpoint commit FILE`",
                                  o.checkpoint),
                  o, Command::export_records),
      std::move(settle).only_when([&o] {
        return o.command == Command::export_records || o.command == Command::compact
                   ? ""
                   : "--settle applies to export --since-checkpoint and compact only";
      }),
  };
}

base::FlagTable stats_flags(Options& o) {
  return {for_command(base::switch_flag("--json", "the same as one JSON object", o.json), o, Command::stats)};
}

base::FlagTable retire_flags(Options& o) {
  return {for_command(base::text_flag("--checkpoint", "FILE",
                                      "the committed checkpoint (what `checkpoint commit` made once the "
                                      "export was loaded): only segments it marks sealed go",
                                      o.checkpoint),
                      o, Command::retire)};
}

base::FlagTable all_flags(Options& o) {
  base::FlagTable all = export_flags(o);
  for (base::Flag& f : stats_flags(o)) all.push_back(std::move(f));
  for (base::Flag& f : retire_flags(o)) all.push_back(std::move(f));
  return all;
}

// `checkpoint commit FILE`: the operands become options.checkpoint.
bool check_checkpoint_operands(Options& o, std::string* error) {
  if (o.dirs.size() != 2 || o.dirs[0] != "commit")
    return fail(error, "checkpoint: want 'checkpoint commit FILE' (see busyring-log --help)");
  if (o.dirs[1].empty()) return fail(error, "checkpoint commit: an empty FILE argument");
  o.checkpoint = o.dirs[1];
  o.dirs.clear();
  return true;
}

bool check_export_flags(const Options& o, std::string* error) {
  if (o.command != Command::export_records) return true;
  if (!o.checkpoint.empty() && o.from_id != 0)
    return fail(error, "--from-id and --since-checkpoint do not mix: the checkpoint says where to start");
  if (o.checkpoint.empty() && o.settle_given) return fail(error, "--settle applies to --since-checkpoint only");
  return true;
}

bool check_retire_flags(const Options& o, std::string* error) {
  if (o.command == Command::retire && o.checkpoint.empty())
    return fail(error, "retire: --checkpoint FILE is required (the committed export checkpoint)");
  return true;
}

bool check_dirs(const Options& o, std::string* error) {
  const std::string cmd = command_name(o.command);
  if (o.dirs.empty()) return fail(error, cmd + ": missing DIR (see busyring-log --help)");
  const bool one = o.command == Command::verify || o.command == Command::dump || o.command == Command::salvage;
  if (one && o.dirs.size() > 1) return fail(error, cmd + " takes one DIR, got " + std::to_string(o.dirs.size()));
  for (const auto& d : o.dirs) {
    if (d.empty()) return fail(error, cmd + ": an empty DIR argument");
  }
  return true;
}

}  // namespace

const char* command_name(Command command) {
  for (const auto& c : kCommands) {
    if (c.command == command) return c.name.data();
  }
  return "?";
}

std::string usage_text() {
  Options defaults;
  return "usage: busyring-log COMMAND [FLAGS] DIR...\n"
         "Reads busyring data dirs (DIR/shard-KK/seg-NNNNNNNN.log) with the server's own codec.\n"
         "\n"
         "  verify DIR        per shard and segment: records, bytes, first/last id and how it ends\n"
         "                    (clean, torn tail, corrupt); exit 0 clean, 1 damaged\n"
         "  export DIR...     one record per line on stdout, by id ascending\n" +
         base::render_flags(export_flags(defaults), 6, false) +
         "  dump DIR          every record, skip marker and segment end, with offsets\n"
         "  stats DIR...      records, bytes, max id, density, holes, duplicates, records per shard,\n"
         "                    and the least value for a shared id counter (the highest id written\n"
         "                    or reserved in DIR/id-ranges): give it every node's dir of a cluster\n" +
         base::render_flags(stats_flags(defaults), 6, false) +
         "  salvage DIR       voids corrupt stretches so the server can start again; each damaged\n"
         "                    segment is first copied to <segment>.broken (the server must be stopped)\n"
         "  checkpoint commit FILE  FILE.next replaces FILE (after the consumer of the export\n"
         "                    succeeded); refused when FILE.next was not made from FILE\n"
         "  retire DIR...     deletes the segments all of whose records the committed checkpoint\n"
         "                    covers (sealed: the server has left them), after recording them in\n"
         "                    DIR/retired; safe while the server runs\n" +
         base::render_flags(retire_flags(defaults), 6, false) +
         "  compact DIR...    rewrites sealed segments (a later segment begins with a record older\n"
         "                    than --settle) as seg-N.zlog: no padding, zstd; every command and the\n"
         "                    server read both forms; safe while the server runs\n"
         "\n" +
         base::render_flags({}, 2, true) +
         "\n"
         "Durations: 500ms, 10s, 1m, 24h. Exit status: 0 ok, 1 damaged log or failure, 2 bad usage.\n";
}

ParseOutcome parse_args(int argc, const char* const* argv, Options* out, std::string* error) {
  *out = Options{};
  if (argc < 2) {
    *error = "missing COMMAND (verify, export, dump, stats, salvage, checkpoint, retire, compact; see --help)";
    return ParseOutcome::error;
  }
  const std::string_view first = argv[1];
  bool known = false;
  for (const auto& c : kCommands) {
    if (c.name == first) {
      out->command = c.command;
      known = true;
    }
  }
  // --help and --version also come first, without a command.
  const int flags_from = known ? 2 : 1;
  if (!known && first != "--help" && first != "-h" && first != "help" && first != "--version") {
    *error = "unknown command '" + std::string(first) +
             "' (verify, export, dump, stats, salvage, checkpoint, retire, compact; see --help)";
    return ParseOutcome::error;
  }
  if (first == "help") return ParseOutcome::help;
  const base::FlagTable table = all_flags(*out);
  const auto outcome = base::parse_flags(table, argc, argv, flags_from, [out](std::string_view operand) {
    out->dirs.emplace_back(operand);
    return std::string();
  });
  if (!outcome) {
    *error = outcome.error();
    return ParseOutcome::error;
  }
  if (outcome.value() == base::FlagOutcome::help) return ParseOutcome::help;
  if (outcome.value() == base::FlagOutcome::version) return ParseOutcome::version;
  if (out->command == Command::checkpoint)
    return check_checkpoint_operands(*out, error) ? ParseOutcome::run : ParseOutcome::error;
  return check_dirs(*out, error) && check_export_flags(*out, error) && check_retire_flags(*out, error)
             ? ParseOutcome::run
             : ParseOutcome::error;
}

}  // namespace busyring::logtool
