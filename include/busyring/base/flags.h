// One table of flags drives both the parsing and the --help text of every busyring tool, so a
// flag cannot be parsed one way and documented another. A Flag knows its name, the shape of its
// value, its help, its default (read from the target field when the table is built) and how to
// store a value; the factories below bind a flag to a field with its range.
//
// Accepted forms: `--name value`, `--name=value`, switches (`--json`, no value), `-h`/`--help`,
// `--version`, and `--` to end the flags. Anything else that starts with '-' is an error; other
// words are operands (refused unless the tool takes them). A bad value is one line naming the
// flag, what it accepts and what it got; tools exit 2 with it, before touching anything.
// Start-up code only: this allocates freely.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "busyring/base/result.h"
#include "busyring/base/units.h"

namespace busyring::base {

struct Flag {
  std::string name;          // "--max-body"
  std::string value_name;    // "SIZE"; empty for a switch, which takes no value
  std::string help;          // sentences; '\n' starts a new line, long lines are wrapped
  std::string default_text;  // rendered as "(default X)"; empty: none
  // Stores one value; returns "" when it was good, else what the flag expects ("a size 64..16M").
  std::function<std::string(std::string_view value)> apply;
  // Optional: "" when the flag may be used here, else the whole error line ("--format applies to
  // export only"): for flags that belong to one command of a tool.
  std::function<std::string()> usable = {};

  Flag&& defaults_to(std::string text) && {
    default_text = std::move(text);
    return std::move(*this);
  }
  Flag&& only_when(std::function<std::string()> check) && {
    usable = std::move(check);
    return std::move(*this);
  }
};

using FlagTable = std::vector<Flag>;

enum class FlagOutcome : uint8_t { run, help, version };

// Receives an operand (a word that is not a flag); returns "" or the error line.
using OperandSink = std::function<std::string(std::string_view operand)>;

// Parses argv[first..argc). Without an operand sink, an operand is an error.
[[nodiscard]] Result<FlagOutcome> parse_flags(const FlagTable& flags, int argc, const char* const* argv,
                                              int first = 1, const OperandSink& operands = {});

// The flags' help lines, indented by `indent`, descriptions aligned and wrapped at 100 columns;
// with `with_standard`, -h/--help and --version follow the table's own flags.
std::string render_flags(const FlagTable& flags, size_t indent = 2, bool with_standard = true);

// "--port: expected a port 0..65535, got 'abc' (see --help)"
std::string bad_value(std::string_view flag, std::string_view expected, std::string_view got);

// ---- factories: a flag bound to a field, with its range ----

// A whole number in [lo, hi] ("--threads N").
template <typename Int>
Flag count_flag(std::string name, std::string value_name, std::string help, Int& field, uint64_t lo, uint64_t hi) {
  static_assert(std::is_unsigned_v<Int>);
  std::string expected = std::to_string(lo) + ".." + std::to_string(hi);
  return Flag{std::move(name), std::move(value_name), std::move(help), std::to_string(field),
              [&field, lo, hi, expected](std::string_view v) -> std::string {
                uint64_t n = 0;
                if (!parse_u64(v, n) || n < lo || n > hi) return expected;
                field = static_cast<Int>(n);
                return "";
              }};
}

// A decimal number in [lo, hi] ("--rate 18000", "--rate 0.5").
Flag number_flag(std::string name, std::string value_name, std::string help, double& field, double lo, double hi);

// A size in bytes in [lo, hi], a multiple of `multiple` ("--max-body 64K").
template <typename Int>
Flag size_flag(std::string name, std::string help, Int& field, uint64_t lo, uint64_t hi, uint64_t multiple = 1) {
  static_assert(std::is_unsigned_v<Int>);
  std::string expected = "a size " + format_size(lo) + ".." + format_size(hi);
  if (multiple > 1) expected += ", a multiple of " + format_size(multiple);
  expected += " (e.g. 512K, 1M, 1MiB)";
  return Flag{std::move(name), "SIZE", std::move(help), format_size(field),
              [&field, lo, hi, multiple, expected](std::string_view v) -> std::string {
                uint64_t n = 0;
                if (!parse_size(v, n) || n < lo || n > hi || n % multiple != 0) return expected;
                field = static_cast<Int>(n);
                return "";
              }};
}

// How a duration field holds its value: the field counts `field_unit_ns` (1e6 for a field in
// ms; a double field of seconds has 1e9), and a plain number on the command line counts
// `plain_unit_ns` (seconds, unless the flag's name says otherwise: --batch-us).
struct DurationUnits {
  uint64_t field_unit_ns;
  uint64_t plain_unit_ns = kNsPerS;
};

// ", in whole milliseconds" for a field that counts ms (so "1500us" is refused, not rounded).
std::string whole_units(uint64_t field_unit_ns);

// A duration in [lo_ns, hi_ns]; an integer field takes whole units only ("--idle-timeout 60s").
template <typename Field>
Flag duration_flag(std::string name, std::string help, Field& field, DurationUnits units, uint64_t lo_ns,
                   uint64_t hi_ns) {
  std::string expected = "a duration " + format_duration(lo_ns) + ".." + format_duration(hi_ns);
  if constexpr (std::is_integral_v<Field>) expected += whole_units(units.field_unit_ns);
  expected += " (e.g. 500ms, 10s, 1m, 24h)";
  const double field_ns = static_cast<double>(field) * static_cast<double>(units.field_unit_ns);
  return Flag{std::move(name), "DUR", std::move(help), format_duration(static_cast<uint64_t>(field_ns)),
              [&field, units, lo_ns, hi_ns, expected](std::string_view v) -> std::string {
                uint64_t ns = 0;
                if (!parse_duration(v, units.plain_unit_ns, ns) || ns < lo_ns || ns > hi_ns) return expected;
                if constexpr (std::is_integral_v<Field>) {
                  if (ns % units.field_unit_ns != 0) return expected;
                  const uint64_t n = ns / units.field_unit_ns;
                  if (n > std::numeric_limits<Field>::max()) return expected;
                  field = static_cast<Field>(n);
                } else {
                  field = static_cast<Field>(static_cast<double>(ns) / static_cast<double>(units.field_unit_ns));
                }
                return "";
              }};
}

// Any non-empty text ("--data-dir DIR").
Flag text_flag(std::string name, std::string value_name, std::string help, std::string& field);

// A switch: present means true ("--json").
Flag switch_flag(std::string name, std::string help, bool& field);

// One of a few words ("--ack durable|written|memory").
template <typename T>
Flag choice_flag(std::string name, std::string value_name, std::string help, T& field,
                 std::vector<std::pair<std::string, T>> choices) {
  std::string expected, current;
  for (size_t i = 0; i < choices.size(); ++i) {
    expected += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i].first;
    if (choices[i].second == field) current = choices[i].first;
  }
  return Flag{std::move(name), std::move(value_name), std::move(help), current,
              [&field, choices = std::move(choices), expected](std::string_view v) -> std::string {
                for (const auto& [word, value] : choices) {
                  if (v == word) {
                    field = value;
                    return "";
                  }
                }
                return expected;
              }};
}

}  // namespace busyring::base
