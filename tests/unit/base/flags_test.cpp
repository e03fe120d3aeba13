// base/flags: the parse loop and help renderer every busyring tool uses (issue 14). Both value
// forms, switches, -h/--help/--version, `--`, operands, one-line errors that name the flag, and
// help text that lists every flag with the default read from its field.
#include "busyring/base/flags.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace busyring::base;

namespace {

struct Fields {
  uint32_t count = 5;
  uint64_t size = 64 << 10;
  uint32_t timeout_ms = 60'000;
  double seconds = 2;
  double rate = 0;
  std::string name = "data";
  bool on = false;
  enum class Mode { fast, safe } mode = Mode::safe;
};

FlagTable table(Fields& f) {
  return {
      count_flag("--count", "N", "how many", f.count, 1, 100),
      size_flag("--size", "how big", f.size, 64, 1 << 20),
      duration_flag("--timeout", "how long", f.timeout_ms, DurationUnits{kNsPerMs}, kNsPerMs, 24 * kNsPerHour),
      duration_flag("--seconds", "a double of seconds", f.seconds, DurationUnits{kNsPerS}, kNsPerMs, 60 * kNsPerS),
      number_flag("--rate", "R", "per second", f.rate, 0, 1e6),
      text_flag("--name", "NAME", "a name", f.name),
      switch_flag("--on", "turns it on", f.on),
      choice_flag("--mode", "MODE", "fast or safe", f.mode, {{"fast", Fields::Mode::fast}, {"safe", Fields::Mode::safe}}),
  };
}

struct Run {
  Result<FlagOutcome> outcome = Error{"not run"};
  Fields fields;
  std::vector<std::string> operands;
};

Run run(std::vector<std::string> args, bool take_operands = false) {
  Run r;
  args.insert(args.begin(), "tool");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  const FlagTable t = table(r.fields);
  OperandSink sink;
  if (take_operands) sink = [&r](std::string_view o) {
      r.operands.emplace_back(o);
      return std::string();
    };
  r.outcome = parse_flags(t, static_cast<int>(argv.size()), argv.data(), 1, sink);
  return r;
}

}  // namespace

TEST_CASE("flag values are read after a space or an equals sign, into their fields", "[base][flags]") {
  for (const bool joined : {false, true}) {
    INFO("joined " << joined);
    const auto arg = [joined](std::vector<std::string>& out, const std::string& flag, const std::string& value) {
      if (joined) {
        out.push_back(flag + "=" + value);
      } else {
        out.push_back(flag);
        out.push_back(value);
      }
    };
    std::vector<std::string> args;
    arg(args, "--count", "7");
    arg(args, "--size", "1MiB");
    arg(args, "--timeout", "1500ms");
    arg(args, "--seconds", "0.5");
    arg(args, "--rate", "18000");
    arg(args, "--name", "x=y");
    arg(args, "--mode", "fast");
    args.push_back("--on");
    const Run r = run(args);
    REQUIRE(r.outcome.ok());
    CHECK(r.outcome.value() == FlagOutcome::run);
    CHECK(r.fields.count == 7);
    CHECK(r.fields.size == 1 << 20);
    CHECK(r.fields.timeout_ms == 1500);
    CHECK(r.fields.seconds == 0.5);
    CHECK(r.fields.rate == 18000);
    CHECK(r.fields.name == "x=y");
    CHECK(r.fields.mode == Fields::Mode::fast);
    CHECK(r.fields.on);
  }
}

TEST_CASE("each bad value is one line naming the flag, what it takes and what it got", "[base][flags]") {
  const struct {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{"--count", "0"}, "--count: expected 1..100, got '0'"},
      {{"--count=101"}, "--count: expected 1..100, got '101'"},
      {{"--size", "63"}, "--size: expected a size 64..1M"},
      {{"--size", "lots"}, "got 'lots'"},
      {{"--timeout", "25h"}, "--timeout: expected a duration 1ms..24h, in whole milliseconds"},
      {{"--timeout", "1500us"}, "in whole milliseconds"},
      {{"--timeout", "10S"}, "--timeout: expected a duration"},
      {{"--seconds", "2m"}, "--seconds: expected a duration 1ms..60s"},
      {{"--rate", "-1"}, "--rate: expected a number 0..1000000"},
      {{"--name", ""}, "--name: expected a non-empty NAME"},
      {{"--mode", "slow"}, "--mode: expected fast or safe, got 'slow'"},
      {{"--on=1"}, "--on takes no value"},
      {{"--count"}, "--count: missing value"},
      {{"--bogus"}, "unknown flag '--bogus'"},
      {{"--bogus=1"}, "unknown flag '--bogus'"},
      {{"-x"}, "unknown flag '-x'"},
      {{"stray"}, "unexpected argument 'stray'"},
  };
  for (const auto& c : cases) {
    INFO(c.args[0] << (c.args.size() > 1 ? " " + c.args[1] : ""));
    const Run r = run(c.args);
    REQUIRE_FALSE(r.outcome.ok());
    CHECK_THAT(r.outcome.error(), Catch::Contains(c.says));
    CHECK(r.outcome.error().find('\n') == std::string::npos);
  }
  // A refused value leaves the field as it was.
  const Run r = run({"--count", "3", "--count", "x"});
  CHECK(r.fields.count == 3);
}

TEST_CASE("-h, --help and --version end the parse; -- ends the flags", "[base][flags]") {
  for (const char* h : {"-h", "--help"}) {
    const Run r = run({"--count", "2", h, "--bogus"});
    REQUIRE(r.outcome.ok());
    CHECK(r.outcome.value() == FlagOutcome::help);
  }
  const Run v = run({"--version", "--bogus"});
  REQUIRE(v.outcome.ok());
  CHECK(v.outcome.value() == FlagOutcome::version);
  const Run ops = run({"a", "--count", "2", "b", "--", "--c", "-"}, true);
  REQUIRE(ops.outcome.ok());
  CHECK(ops.operands == std::vector<std::string>{"a", "b", "--c", "-"});
  CHECK(ops.fields.count == 2);
}

TEST_CASE("a flag that is not usable here says why in its own line", "[base][flags]") {
  bool flag = false;
  const FlagTable t = {switch_flag("--json", "as JSON", flag).only_when([] { return "--json applies to stats only"; })};
  const char* argv[] = {"tool", "--json"};
  const auto r = parse_flags(t, 2, argv);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error() == "--json applies to stats only");
  CHECK_FALSE(flag);
}

TEST_CASE("help lists every flag with its value, its text and the default read from the field", "[base][flags]") {
  Fields f;
  const std::string help = render_flags(table(f));
  for (const char* line : {"  --count N", "  --size SIZE", "  --timeout DUR", "  --rate R", "  --name NAME", "  --on ",
                           "  --mode MODE", "  -h, --help", "  --version"})
    CHECK_THAT(help, Catch::Contains(line));
  for (const char* dflt : {"(default 5)", "(default 64K)", "(default 60s)", "(default 2s)", "(default 0)",
                           "(default data)", "(default safe)"})
    CHECK_THAT(help, Catch::Contains(dflt));
  size_t start = 0;
  while (start < help.size()) {
    const size_t end = help.find('\n', start);
    REQUIRE(end != std::string::npos);
    CHECK(end - start <= 100);
    start = end + 1;
  }
  CHECK_THAT(render_flags(table(f), 2, false), !Catch::Contains("--version"));
}
