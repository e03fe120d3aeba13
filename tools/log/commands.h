// The six commands of busyring-log. Each writes its report to `out`, one line per problem to
// `err` ("busyring-log: <command>: ..."), and returns the exit status: 0 ok, 1 damaged or
// failed. Taking the streams as arguments lets the unit tests capture them.
#pragma once

#include <cstdio>
#include <string>

#include "options.h"

namespace busyring::logtool {

int run_verify(const Options& options, std::FILE* out, std::FILE* err);
int run_export(const Options& options, std::FILE* out, std::FILE* err);
int run_dump(const Options& options, std::FILE* out, std::FILE* err);
int run_stats(const Options& options, std::FILE* out, std::FILE* err);
int run_salvage(const Options& options, std::FILE* out, std::FILE* err);
// export --since-checkpoint FILE (export_since.cpp) and checkpoint commit FILE (checkpoint.cpp).
int run_export_since(const Options& options, std::FILE* out, std::FILE* err);
int run_checkpoint(const Options& options, std::FILE* out, std::FILE* err);
// retire DIR... --checkpoint FILE (retire.cpp): deletes the segments the committed checkpoint sealed.
int run_retire(const Options& options, std::FILE* out, std::FILE* err);

// compact DIR... (compact.cpp): rewrites sealed segments compacted (compactor.h).
int run_compact(const Options& options, std::FILE* out, std::FILE* err);

// Runs options.command.
int run_command(const Options& options, std::FILE* out, std::FILE* err);

// Prints "busyring-log: <command>: <message>" on err (one line).
void print_error(std::FILE* err, Command command, const std::string& message);

}  // namespace busyring::logtool
