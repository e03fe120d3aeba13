// The parse loop and the help renderer shared by busyring, busyring-log and busyring-load.
#include "busyring/base/flags.h"

#include <algorithm>

namespace busyring::base {
namespace {

constexpr size_t kWidth = 100;        // help lines wrap here
constexpr size_t kMaxLeftWidth = 24;  // a longer "--flag VALUE" puts its text on the next line
constexpr char kNoBreak = '\x1f';       // a space that wrap() never breaks at: "(default 10s)"

const Flag* find_flag(const FlagTable& flags, std::string_view name) {
  for (const Flag& f : flags)
    if (f.name == name) return &f;
  return nullptr;
}

// Appends text word-wrapped into [column, kWidth); the first line continues `out` as it is.
void wrap(std::string& out, std::string_view text, size_t column, size_t at) {
  size_t pos = 0;
  bool line_start = true;
  while (pos < text.size()) {
    if (text[pos] == '\n') {
      out += '\n' + std::string(column, ' ');
      at = column;
      line_start = true;
      ++pos;
      continue;
    }
    if (text[pos] == ' ') {
      ++pos;
      continue;
    }
    size_t end = text.find_first_of(" \n", pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(pos, end - pos);
    if (!line_start && at + 1 + word.size() > kWidth) {
      out += '\n' + std::string(column, ' ');
      at = column;
      line_start = true;
    }
    if (!line_start) {
      out += ' ';
      ++at;
    }
    for (const char c : word) out += c == kNoBreak ? ' ' : c;
    at += word.size();
    line_start = false;
    pos = end;
  }
  out += '\n';
}

std::string left_of(const Flag& f) { return f.value_name.empty() ? f.name : f.name + " " + f.value_name; }

}  // namespace

std::string bad_value(std::string_view flag, std::string_view expected, std::string_view got) {
  return std::string(flag) + ": expected " + std::string(expected) + ", got '" + std::string(got) + "' (see --help)";
}

std::string whole_units(uint64_t field_unit_ns) {
  switch (field_unit_ns) {
    case kNsPerUs: return ", in whole microseconds";
    case kNsPerMs: return ", in whole milliseconds";
    case kNsPerS: return ", in whole seconds";
    default: return "";
  }
}

Result<FlagOutcome> parse_flags(const FlagTable& flags, int argc, const char* const* argv, int first,
                                const OperandSink& operands) {
  bool flags_done = false;
  for (int i = first; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      if (!operands) return Error{"unexpected argument '" + std::string(arg) + "' (see --help)"};
      if (std::string e = operands(arg); !e.empty()) return Error{std::move(e)};
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") return FlagOutcome::help;
    if (arg == "--version") return FlagOutcome::version;
    const size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const Flag* flag = find_flag(flags, name);
    if (flag == nullptr) return Error{"unknown flag '" + std::string(name) + "' (see --help)"};
    if (flag->usable) {
      if (std::string why = flag->usable(); !why.empty()) return Error{std::move(why)};
    }
    std::string_view value;
    if (flag->value_name.empty()) {
      if (eq != std::string_view::npos) return Error{std::string(name) + " takes no value (see --help)"};
    } else if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Error{std::string(name) + ": missing value (" + flag->value_name + "; see --help)"};
    }
    if (const std::string expected = flag->apply(value); !expected.empty())
      return Error{bad_value(name, expected, value)};
  }
  return FlagOutcome::run;
}

std::string render_flags(const FlagTable& flags, size_t indent, bool with_standard) {
  FlagTable all = flags;
  if (with_standard) {
    all.push_back(Flag{"-h, --help", "", "print this help and exit", "", {}});
    all.push_back(Flag{"--version", "", "print the version, git commit and build mode, and exit", "", {}});
  }
  size_t left_width = 0;
  for (const Flag& f : all) {
    const size_t w = left_of(f).size();
    if (w <= kMaxLeftWidth) left_width = std::max(left_width, w);
  }
  const size_t column = indent + left_width + 2;
  std::string out;
  for (const Flag& f : all) {
    const std::string left = std::string(indent, ' ') + left_of(f);
    std::string text = f.help;
    if (!f.default_text.empty()) text += " (default" + std::string(1, kNoBreak) + f.default_text + ")";
    out += left;
    if (left.size() + 2 > column) {
      out += '\n' + std::string(column, ' ');
    } else {
      out += std::string(column - left.size(), ' ');
    }
    wrap(out, text, column, column);
  }
  return out;
}

Flag number_flag(std::string name, std::string value_name, std::string help, double& field, double lo, double hi) {
  const auto text = [](double v) {
    std::string s = std::to_string(v);  // "0.500000": trim the zeros
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  std::string expected = "a number " + text(lo) + ".." + text(hi);
  return Flag{std::move(name), std::move(value_name), std::move(help), text(field),
              [&field, lo, hi, expected](std::string_view v) -> std::string {
                double d = 0;
                if (!parse_decimal(v, d) || d < lo || d > hi) return expected;
                field = d;
                return "";
              }};
}

Flag text_flag(std::string name, std::string value_name, std::string help, std::string& field) {
  std::string expected = "a non-empty " + value_name;
  return Flag{std::move(name), std::move(value_name), std::move(help), field,
              [&field, expected](std::string_view v) -> std::string {
                if (v.empty()) return expected;
                field = v;
                return "";
              }};
}

Flag switch_flag(std::string name, std::string help, bool& field) {
  return Flag{std::move(name), "", std::move(help), "", [&field](std::string_view) -> std::string {
                field = true;
                return "";
              }};
}

}  // namespace busyring::base
