// Export checkpoints: the text format round-trips and refuses anything else line by line;
// `checkpoint commit` renames FILE.next over FILE only when FILE.next was made from FILE; the
// command line of --since-checkpoint, --settle and `checkpoint commit`.
#include "../../../tools/log/checkpoint.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "../../../tools/log/options.h"
#include "log_fixture.h"

using namespace busyring;
using logtool::Checkpoint;
using logtool::SegmentMark;
using test::read_all;
using test::run_tool;

namespace {

Checkpoint sample(uint64_t generation) {
  Checkpoint c;
  c.generation = generation;
  c.base = generation - 1;
  c.dirs = 2;
  c.segments = {SegmentMark{0, 0, 0, 1048064, 1, 1700000000123456789ull, true},
                SegmentMark{0, 0, 1, 4096, 2731, 1700000005123456789ull, false}, SegmentMark{0, 3, 0, 0, 0, 0, false},
                SegmentMark{1, 0, 7, 96, 18446744073709551615ull, 5, false}};
  return c;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  REQUIRE(f.good());
}

logtool::Options parse_ok(std::vector<std::string> args) {
  std::vector<const char*> argv = {"busyring-log"};
  for (const auto& a : args) argv.push_back(a.c_str());
  logtool::Options o;
  std::string error;
  INFO(error);
  REQUIRE(logtool::parse_args(static_cast<int>(argv.size()), argv.data(), &o, &error) == logtool::ParseOutcome::run);
  return o;
}

}  // namespace

TEST_CASE("a checkpoint formats as documented and parses back", "[logtool]") {
  const Checkpoint c = sample(4);
  const std::string text = logtool::format_checkpoint(c);
  CHECK(text ==
        "busyring-log checkpoint 1\ngeneration 4\nbase 3\ndirs 2\n"
        "segment 0 0 0 1048064 1 1700000000123456789 sealed\n"
        "segment 0 0 1 4096 2731 1700000005123456789 open\n"
        "segment 0 3 0 0 0 0 open\n"
        "segment 1 0 7 96 18446744073709551615 5 open\n"
        "end 4\n");
  const auto back = logtool::parse_checkpoint(text);
  INFO((back ? "" : back.error()));
  REQUIRE(back);
  CHECK(logtool::format_checkpoint(back.value()) == text);
}

TEST_CASE("a checkpoint that is not exactly the format is refused with its line", "[logtool]") {
  const std::string good = logtool::format_checkpoint(sample(4));
  const auto with = [&](const std::string& from, const std::string& to) {
    std::string t = good;
    const size_t at = t.find(from);
    REQUIRE(at != std::string::npos);
    return t.replace(at, from.size(), to);
  };
  const struct {
    std::string text;
    const char* says;
  } cases[] = {
      {"", "no end line"},
      {good.substr(0, good.size() - 1), "cut short"},
      {good.substr(0, good.find("end")), "no end line"},
      {with("checkpoint 1", "checkpoint 2"), "line 1"},
      {with("generation 4", "generation 0"), "line 2"},
      {with("base 3", "base 2"), "line 3"},
      {with("dirs 2", "dirs 0"), "line 4"},
      {with("end 4", "end 5"), "says 5 segments"},
      {good + "segment 1 0 8 0 0 0 open\n", "after the end line"},
      {with("segment 0 3 0 0 0 0 open", "segment 0 0 1 0 0 0 open"), "out of order or repeated"},
      {with("segment 1 0 7", "segment 2 0 7"), "dir 2 but only 2 dirs"},
      {with(" 4096 ", " 4097 "), "not a record boundary"},
      {with("segment 0 3 0 0 0 0 open", "segment 0 3 0 8 0 0 open"), "without records has offset 0"},
      {with(" sealed", " closed"), "want 'segment"},
      {with("segment 0 0 1 4096", "segment 0 0 1 04096"), "want 'segment"},
      {with("segment 0 0 1 4096", "segment 0 0 1  4096"), "want 'segment"},
      {with("segment 0 3 0", "segment 0 4294967296 0"), "want 'segment"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const auto r = logtool::parse_checkpoint(c.text);
    REQUIRE_FALSE(r);
    CHECK(r.error().find(c.says) != std::string::npos);
  }
}

TEST_CASE("checkpoint commit takes FILE.next only when it was made from FILE", "[logtool]") {
  test::TempDir tmp;
  const std::string file = tmp.sub("cp");
  const std::string next = file + ".next";

  auto r = run_tool({"checkpoint", "commit", file});
  CHECK(r.rc == 1);
  CHECK(r.err.find("nothing to commit") != std::string::npos);

  REQUIRE(logtool::write_next(file, sample(1)));
  REQUIRE(run_tool({"checkpoint", "commit", file}).rc == 0);
  CHECK(access(next.c_str(), F_OK) != 0);
  CHECK(read_all(file) == logtool::format_checkpoint(sample(1)));

  // A stale FILE.next (made from generation 0 again) never moves FILE back.
  REQUIRE(logtool::write_next(file, sample(1)));
  r = run_tool({"checkpoint", "commit", file});
  CHECK(r.rc == 1);
  CHECK(r.err.find("made from generation 0 but " + file + " is at generation 1") != std::string::npos);
  CHECK(read_all(file) == logtool::format_checkpoint(sample(1)));

  write_text(next, "garbage\n");
  r = run_tool({"checkpoint", "commit", file});
  CHECK(r.rc == 1);
  CHECK(r.err.find(next + " is not a busyring-log checkpoint") != std::string::npos);
  CHECK(read_all(next) == "garbage\n");
  CHECK(test::count_lines(r.err) == 1);

  REQUIRE(logtool::write_next(file, sample(2)));
  CHECK(run_tool({"checkpoint", "commit", file}).rc == 0);
  CHECK(logtool::load_checkpoint(file).value().generation == 2);
}

TEST_CASE("--since-checkpoint, --settle and checkpoint commit parse; misuse is one line", "[logtool]") {
  auto o = parse_ok({"export", "d", "--since-checkpoint", "/cp", "--settle=0", "--format", "csv"});
  CHECK(o.checkpoint == "/cp");
  CHECK(o.settle_s == 0);
  o = parse_ok({"export", "d", "--since-checkpoint=/cp"});
  CHECK(o.settle_s == logtool::kDefaultSettleS);
  o = parse_ok({"checkpoint", "commit", "/var/lib/x/cp"});
  CHECK(o.command == logtool::Command::checkpoint);
  CHECK(o.checkpoint == "/var/lib/x/cp");
  CHECK(o.dirs.empty());

  const struct {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{"export", "d", "--since-checkpoint", "cp", "--from-id", "3"}, "do not mix"},
      {{"export", "d", "--settle", "5"}, "--settle applies to --since-checkpoint only"},
      {{"export", "d", "--since-checkpoint="}, "--since-checkpoint: expected a non-empty FILE"},
      {{"export", "d", "--since-checkpoint"}, "--since-checkpoint: missing value"},
      {{"export", "d", "--since-checkpoint", "cp", "--settle", "-1"}, "--settle: expected a duration 0s..24h, in whole seconds"},
      {{"export", "d", "--since-checkpoint", "cp", "--settle", "86401"}, "--settle: expected a duration 0s..24h, in whole seconds"},
      {{"verify", "d", "--since-checkpoint", "cp"}, "--since-checkpoint applies to export only"},
      {{"stats", "d", "--settle", "1"}, "--settle applies to export --since-checkpoint and compact only"},
      {{"checkpoint"}, "want 'checkpoint commit FILE'"},
      {{"checkpoint", "show", "cp"}, "want 'checkpoint commit FILE'"},
      {{"checkpoint", "commit", "a", "b"}, "want 'checkpoint commit FILE'"},
      {{"checkpoint", "commit", "cp", "--format", "csv"}, "--format applies to export only"},
  };
  for (const auto& c : cases) {
    std::string joined;
    for (const auto& a : c.args) joined += a + " ";
    INFO("args: " << joined);
    const auto r = run_tool(c.args);
    CHECK(r.rc == 2);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(r.err.find('\n') == std::string::npos);
  }
  const std::string usage = logtool::usage_text();
  for (const char* word : {"--since-checkpoint", "--settle", "checkpoint commit FILE"})
    CHECK(usage.find(word) != std::string::npos);
}
