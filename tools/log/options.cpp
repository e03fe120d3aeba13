// Flag parsing for busyring-log. Accepts `--flag value` and `--flag=value` anywhere after the
// command, and `--` to end the flags. A flag that belongs to another command is an error, so
// a typo never silently changes what a command does. `checkpoint` takes the action `commit`
// and the checkpoint FILE as its two operands.
#include "options.h"

#include <charconv>
#include <string_view>

namespace busyring::logtool {
namespace {

struct CommandName {
  std::string_view name;
  Command command;
};

constexpr CommandName kCommands[] = {
    {"verify", Command::verify}, {"export", Command::export_records}, {"dump", Command::dump},
    {"stats", Command::stats},   {"salvage", Command::salvage},       {"checkpoint", Command::checkpoint},
};

bool fail(std::string* error, std::string why) {
  *error = std::move(why);
  return false;
}

bool to_u64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size()) return false;
  *out = v;
  return true;
}

// Applies one flag (value may be empty for --json); false (and *error) when it is wrong.
bool apply(std::string_view flag, std::string_view value, Options* o, std::string* error) {
  const std::string cmd = command_name(o->command);
  if (flag == "--format") {
    if (o->command != Command::export_records) return fail(error, "--format applies to export only");
    if (value != "jsonl" && value != "csv")
      return fail(error, "--format: want jsonl or csv, not '" + std::string(value) + "'");
    o->format = value == "csv" ? Format::csv : Format::jsonl;
  } else if (flag == "--from-id") {
    if (o->command != Command::export_records) return fail(error, "--from-id applies to export only");
    if (!to_u64(value, &o->from_id))
      return fail(error, "--from-id: want a decimal id, not '" + std::string(value) + "'");
  } else if (flag == "--since-checkpoint") {
    if (o->command != Command::export_records) return fail(error, "--since-checkpoint applies to export only");
    if (value.empty()) return fail(error, "--since-checkpoint: want a FILE, not an empty name");
    o->checkpoint = value;
  } else if (flag == "--settle") {
    if (o->command != Command::export_records) return fail(error, "--settle applies to export only");
    if (!to_u64(value, &o->settle_s) || o->settle_s > kMaxSettleS)
      return fail(error, "--settle: want whole seconds from 0 to " + std::to_string(kMaxSettleS) + ", not '" +
                             std::string(value) + "'");
    o->settle_given = true;
  } else if (flag == "--json") {
    if (o->command != Command::stats) return fail(error, "--json applies to stats only");
    o->json = true;
  } else {
    return fail(error, cmd + ": unknown flag " + std::string(flag) + " (see busyring-log --help)");
  }
  return true;
}

bool takes_value(std::string_view flag) {
  return flag == "--format" || flag == "--from-id" || flag == "--since-checkpoint" || flag == "--settle";
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

const char* usage_text() {
  return "usage: busyring-log COMMAND [FLAGS] DIR...\n"
         "Reads busyring data dirs (DIR/shard-KK/seg-NNNNNNNN.log) with the server's own codec.\n"
         "\n"
         "  verify DIR        per shard and segment: records, bytes, first/last id and how it ends\n"
         "                    (clean, torn tail, corrupt); exit 0 clean, 1 damaged\n"
         "  export DIR...     one record per line on stdout, by id ascending\n"
         "      --format jsonl|csv   jsonl (default): {\"id\":N,\"shard\":K,\"arrival_ns\":T,\"body\":{...}}\n"
         "                           csv: id,shard,arrival_ns,patient_id,timestamp,medication,body\n"
         "      --from-id N          only records with id >= N\n"
         "      --since-checkpoint FILE  only records the checkpoint FILE does not cover (all when\n"
         "                           FILE is missing); the advanced checkpoint goes to FILE.next,\n"
         "                           FILE itself is left alone until `checkpoint commit FILE`\n"
         "      --settle S           with --since-checkpoint: leave records younger than S seconds\n"
         "                           (default 10) for the next run, so writes in flight settle\n"
         "  dump DIR          every record, skip marker and segment end, with offsets\n"
         "  stats DIR...      records, bytes, max id, density, holes, duplicates, records per shard,\n"
         "                    and the least value for a shared id counter (the highest id written\n"
         "                    or reserved in DIR/id-ranges): give it every node's dir of a cluster\n"
         "      --json               the same as one JSON object\n"
         "  salvage DIR       voids corrupt stretches so the server can start again; each damaged\n"
         "                    segment is first copied to <segment>.broken (the server must be stopped)\n"
         "  checkpoint commit FILE  FILE.next replaces FILE (after the consumer of the export\n"
         "                    succeeded); refused when FILE.next was not made from FILE\n"
         "\n"
         "Exit status: 0 ok, 1 damaged log or failure, 2 bad usage.\n";
}

ParseOutcome parse_args(int argc, const char* const* argv, Options* out, std::string* error) {
  *out = Options{};
  if (argc < 2) {
    *error = "missing COMMAND (verify, export, dump, stats, salvage, checkpoint; see --help)";
    return ParseOutcome::error;
  }
  const std::string_view first = argv[1];
  if (first == "--help" || first == "-h" || first == "help") return ParseOutcome::help;
  bool known = false;
  for (const auto& c : kCommands) {
    if (c.name == first) {
      out->command = c.command;
      known = true;
    }
  }
  if (!known) {
    *error =
        "unknown command '" + std::string(first) + "' (verify, export, dump, stats, salvage, checkpoint; see --help)";
    return ParseOutcome::error;
  }
  bool flags_done = false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      out->dirs.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "--help" || arg == "-h") return ParseOutcome::help;
    std::string_view flag = arg, value;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      if (flag == "--json") {
        *error = "--json takes no value";
        return ParseOutcome::error;
      }
    } else if (takes_value(flag)) {
      if (i + 1 >= argc) {
        *error = std::string(flag) + ": missing value";
        return ParseOutcome::error;
      }
      value = argv[++i];
    }
    if (!apply(flag, value, out, error)) return ParseOutcome::error;
  }
  if (out->command == Command::checkpoint)
    return check_checkpoint_operands(*out, error) ? ParseOutcome::run : ParseOutcome::error;
  return check_dirs(*out, error) && check_export_flags(*out, error) ? ParseOutcome::run : ParseOutcome::error;
}

}  // namespace busyring::logtool
