// Unit tests of busyring-log's command line: every command, both flag forms, flags that belong
// to another command, DIR counts, and the one-line errors that make main() exit 2.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../../../tools/log/options.h"

using namespace busyring::logtool;

namespace {

struct Parsed {
  ParseOutcome outcome;
  Options options;
  std::string error;
};

Parsed parse(std::vector<std::string> args) {
  std::vector<const char*> argv = {"busyring-log"};
  for (const auto& a : args) argv.push_back(a.c_str());
  Parsed p;
  p.outcome = parse_args(static_cast<int>(argv.size()), argv.data(), &p.options, &p.error);
  return p;
}

}  // namespace

TEST_CASE("each command parses with its DIR and defaults", "[logtool]") {
  const struct {
    const char* name;
    Command command;
  } cases[] = {{"verify", Command::verify},
               {"export", Command::export_records},
               {"dump", Command::dump},
               {"stats", Command::stats},
               {"salvage", Command::salvage}};
  for (const auto& c : cases) {
    INFO(c.name);
    const Parsed p = parse({c.name, "/data"});
    REQUIRE(p.outcome == ParseOutcome::run);
    CHECK(p.options.command == c.command);
    CHECK(p.options.dirs == std::vector<std::string>{"/data"});
    CHECK(p.options.format == Format::jsonl);
    CHECK(p.options.from_id == 0);
    CHECK_FALSE(p.options.json);
    CHECK(std::string(command_name(c.command)) == c.name);
  }
}

TEST_CASE("export takes --format and --from-id in both forms, before or after the dirs", "[logtool]") {
  Parsed p = parse({"export", "--format", "csv", "a", "b", "--from-id=42"});
  REQUIRE(p.outcome == ParseOutcome::run);
  CHECK(p.options.format == Format::csv);
  CHECK(p.options.from_id == 42);
  CHECK(p.options.dirs == std::vector<std::string>{"a", "b"});
  p = parse({"export", "a", "--format=jsonl", "--from-id", "18446744073709551615"});
  REQUIRE(p.outcome == ParseOutcome::run);
  CHECK(p.options.format == Format::jsonl);
  CHECK(p.options.from_id == 18446744073709551615ull);
}

TEST_CASE("stats --json and several dirs", "[logtool]") {
  const Parsed p = parse({"stats", "--json", "x", "y", "z"});
  REQUIRE(p.outcome == ParseOutcome::run);
  CHECK(p.options.json);
  CHECK(p.options.dirs.size() == 3);
}

TEST_CASE("-- ends the flags so a dir may start with a dash", "[logtool]") {
  const Parsed p = parse({"verify", "--", "--odd-dir"});
  REQUIRE(p.outcome == ParseOutcome::run);
  CHECK(p.options.dirs == std::vector<std::string>{"--odd-dir"});
}

TEST_CASE("--help anywhere asks for the usage text; --version for the version", "[logtool]") {
  CHECK(parse({"--help"}).outcome == ParseOutcome::help);
  CHECK(parse({"-h"}).outcome == ParseOutcome::help);
  CHECK(parse({"help"}).outcome == ParseOutcome::help);
  CHECK(parse({"export", "--help"}).outcome == ParseOutcome::help);
  CHECK(parse({"--version"}).outcome == ParseOutcome::version);
  CHECK(parse({"stats", "d", "--version"}).outcome == ParseOutcome::version);
  const std::string usage = usage_text();
  for (const char* word : {"verify", "export", "dump", "stats", "salvage", "--format F", "--from-id N",
                           "--since-checkpoint FILE", "--settle DUR", "(default 10s)", "--json", "-h, --help",
                           "--version"})
    CHECK(usage.find(word) != std::string::npos);
}

TEST_CASE("--settle takes the durations every busyring tool takes, in whole seconds", "[logtool]") {
  const struct {
    const char* value;
    uint64_t settle_s;
  } good[] = {{"0", 0}, {"30", 30}, {"30s", 30}, {"2m", 120}, {"1h", 3600}, {"24h", 86400}, {"1000ms", 1}};
  for (const auto& c : good) {
    INFO(c.value);
    const Parsed p = parse({"export", "d", "--since-checkpoint", "cp", "--settle", c.value});
    REQUIRE(p.outcome == ParseOutcome::run);
    CHECK(p.options.settle_s == c.settle_s);
    CHECK(p.options.settle_given);
  }
  for (const char* bad : {"1500ms", "25h", "-1", "10S", "soon"}) {
    INFO(bad);
    const Parsed p = parse({"export", "d", "--since-checkpoint", "cp", "--settle", bad});
    REQUIRE(p.outcome == ParseOutcome::error);
    CHECK(p.error.rfind("--settle: expected a duration 0s..24h, in whole seconds", 0) == 0);
  }
}

TEST_CASE("bad usage is one line naming what is wrong", "[logtool]") {
  const struct {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{}, "missing COMMAND"},
      {{"frobnicate", "d"}, "unknown command 'frobnicate'"},
      {{"verify"}, "missing DIR"},
      {{"verify", "a", "b"}, "takes one DIR"},
      {{"dump", "a", "b"}, "takes one DIR"},
      {{"salvage", "a", "b"}, "takes one DIR"},
      {{"export", "d", "--format", "xml"}, "--format: expected jsonl or csv, got 'xml'"},
      {{"export", "d", "--format"}, "--format: missing value"},
      {{"export", "d", "--from-id", "-1"}, "--from-id: expected 0..18446744073709551615, got '-1'"},
      {{"export", "d", "--from-id", "12x"}, "--from-id: expected 0.."},
      {{"export", "d", "--from-id", "99999999999999999999"}, "--from-id: expected 0.."},
      {{"verify", "d", "--format", "csv"}, "--format applies to export only"},
      {{"stats", "d", "--from-id", "3"}, "--from-id applies to export only"},
      {{"export", "d", "--json"}, "--json applies to stats only"},
      {{"stats", "d", "--json=1"}, "--json takes no value"},
      {{"verify", "d", "--bogus"}, "unknown flag '--bogus'"},
      {{"verify", "d", "--bogus=1"}, "unknown flag '--bogus'"},
      {{"verify", "d", "-x"}, "unknown flag '-x'"},
      {{"verify", ""}, "an empty DIR"},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    INFO("args: " << joined);
    const Parsed p = parse(c.args);
    REQUIRE(p.outcome == ParseOutcome::error);
    CHECK(p.error.find(c.says) != std::string::npos);
    CHECK(p.error.find('\n') == std::string::npos);
  }
}

TEST_CASE("retire takes DIRs and the committed checkpoint, which it requires", "[logtool]") {
  Parsed p = parse({"retire", "/a", "/b", "--checkpoint", "/var/lib/busyring-export/checkpoint"});
  REQUIRE(p.outcome == ParseOutcome::run);
  CHECK(p.options.command == Command::retire);
  CHECK(p.options.dirs == std::vector<std::string>{"/a", "/b"});
  CHECK(p.options.checkpoint == "/var/lib/busyring-export/checkpoint");
  p = parse({"retire", "/a"});
  REQUIRE(p.outcome == ParseOutcome::error);
  CHECK(p.error.find("--checkpoint FILE is required") != std::string::npos);
  p = parse({"export", "/a", "--checkpoint", "x"});  // retire's flag only
  REQUIRE(p.outcome == ParseOutcome::error);
  CHECK(p.error.find("retire") != std::string::npos);
  CHECK(usage_text().find("\n  retire DIR...") != std::string::npos);  // what load.sh looks for
}
