// Unit tests of busyring-load's flag parsing and URL splitting: defaults, both flag forms,
// the operator forms of durations shared with busyring (issue 14: `--duration 1s` was refused),
// range checks, and one-line errors for bad flags.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../../../tools/load/options.h"

using namespace busyring::load;

namespace {

ParseOutcome parse(std::vector<const char*> args, Options* o, std::string* error) {
  args.insert(args.begin(), "busyring-load");
  return parse_options(static_cast<int>(args.size()), args.data(), o, error);
}

}  // namespace

TEST_CASE("busyring-load without flags uses the documented defaults", "[load]") {
  Options o;
  std::string error;
  REQUIRE(parse({}, &o, &error) == ParseOutcome::run);
  REQUIRE(o.rate == 0);
  REQUIRE(o.connections == 64);
  REQUIRE(o.pipeline == 1);
  REQUIRE(o.threads == 1);
  REQUIRE(o.method == Method::post);
  REQUIRE(o.url == "http://127.0.0.1:3000/api/usages");
  REQUIRE(o.body == "data.json");
  REQUIRE(o.batch_us == 250);
  REQUIRE(o.timeout_s == 2);
  REQUIRE_FALSE(o.json);
}

TEST_CASE("busyring-load flags take their value after a space or an equals sign", "[load]") {
  Options o;
  std::string error;
  REQUIRE(parse({"--rate", "18000", "--connections=32", "--duration", "2.5", "--pipeline=4",
                 "--method", "GET", "--url", "http://localhost:8080/healthz", "--json",
                 "--ids-out", "/tmp/ids", "--hist-out=/tmp/h", "--threads", "2",
                 "--timeout", "0.5", "--batch-us", "100"},
                &o, &error) == ParseOutcome::run);
  REQUIRE(o.rate == 18000);
  REQUIRE(o.connections == 32);
  REQUIRE(o.duration_s == 2.5);
  REQUIRE(o.pipeline == 4);
  REQUIRE(o.method == Method::get);
  REQUIRE(o.url == "http://localhost:8080/healthz");
  REQUIRE(o.json);
  REQUIRE(o.ids_out == "/tmp/ids");
  REQUIRE(o.hist_out == "/tmp/h");
  REQUIRE(o.threads == 2);
  REQUIRE(o.timeout_s == 0.5);
  REQUIRE(o.batch_us == 100);
}

TEST_CASE("busyring-load durations take the forms every busyring tool takes", "[load]") {
  const struct {
    std::vector<const char*> args;
    double duration_s, timeout_s, batch_us;
  } cases[] = {
      {{"--duration", "1s"}, 1, 2, 250},
      {{"--duration=500ms"}, 0.5, 2, 250},
      {{"--duration", "1m"}, 60, 2, 250},
      {{"--duration", "30"}, 30, 2, 250},  // a plain number stays seconds
      {{"--duration", "2.5"}, 2.5, 2, 250},
      {{"--timeout", "100ms"}, 10, 0.1, 250},
      {{"--timeout", "1.5s"}, 10, 1.5, 250},
      {{"--batch-us", "100"}, 10, 2, 100},  // a plain number stays microseconds
      {{"--batch-us", "1ms"}, 10, 2, 1000},
      {{"--batch-us", "0"}, 10, 2, 0},
  };
  for (const auto& c : cases) {
    INFO(c.args[0]);
    Options o;
    std::string error;
    REQUIRE(parse(c.args, &o, &error) == ParseOutcome::run);
    CHECK(o.duration_s == Approx(c.duration_s));
    CHECK(o.timeout_s == Approx(c.timeout_s));
    CHECK(o.batch_us == Approx(c.batch_us));
  }
}

TEST_CASE("busyring-load --version asks for the version line", "[load]") {
  Options o;
  std::string error;
  REQUIRE(parse({"--version"}, &o, &error) == ParseOutcome::version);
}

TEST_CASE("busyring-load --help asks for the usage text", "[load]") {
  Options o;
  std::string error;
  REQUIRE(parse({"--rate", "5", "--help"}, &o, &error) == ParseOutcome::help);
  const std::string usage = usage_text();
  for (const char* flag : {"--url URL", "--rate R", "--connections C", "--duration DUR", "--pipeline N", "--batch-us DUR",
                           "--threads N", "--method M", "--body FILE", "--timeout DUR", "--ids-out FILE",
                           "--hist-out FILE", "--json", "-h, --help", "--version"})
    CHECK(usage.find(flag) != std::string::npos);
  for (const char* dflt : {"(default 64)", "(default 10s)", "(default 2s)", "(default 250us)", "(default POST)",
                           "(default data.json)", "(default http://127.0.0.1:3000/api/usages)"})
    CHECK(usage.find(dflt) != std::string::npos);
}

TEST_CASE("busyring-load rejects a bad flag with one line naming it", "[load]") {
  const std::vector<std::vector<const char*>> bad = {
      {"--bogus"},           {"--bogus", "1"},        {"--rate"},
      {"--rate", "-1"},      {"--rate", "fast"},      {"--connections", "0"},
      {"--pipeline", "0"},   {"--pipeline", "5000"},  {"--duration", "0"},
      {"--method", "PUT"},   {"--url", "ftp://x/"},   {"--url", "http://:80/"},
      {"--url", "http://h:0/"}, {"--url", "http://h:70000/"}, {"--threads", "0"},
      {"stray"},             {"--connections", "2", "--threads", "3"},
      {"--duration", "10S"}, {"--duration", "0s"},  {"--timeout", "2h"},
      {"--batch-us", "2s"},  {"--json=1"},          {"--rate", "1e3"},
  };
  for (const auto& args : bad) {
    INFO(args[0]);
    Options o;
    std::string error;
    REQUIRE(parse(args, &o, &error) == ParseOutcome::error);
    REQUIRE_FALSE(error.empty());
    REQUIRE(error.find('\n') == std::string::npos);
    if (std::string(args[0]).rfind("--", 0) == 0 && std::string(args[0]) != "--bogus" && args.size() < 4)
      CHECK(error.rfind(std::string(args[0]).substr(0, std::string(args[0]).find('=')), 0) == 0);
  }
}

TEST_CASE("busyring-load --url splits into host, port, path and Host header", "[load]") {
  Url u;
  std::string error;
  REQUIRE(parse_url("http://127.0.0.1:3000/api/usages", &u, &error));
  REQUIRE(u.host == "127.0.0.1");
  REQUIRE(u.port == "3000");
  REQUIRE(u.path == "/api/usages");
  REQUIRE(u.authority == "127.0.0.1:3000");
  REQUIRE(parse_url("http://example", &u, &error));
  REQUIRE(u.port == "80");
  REQUIRE(u.path == "/");
  REQUIRE(parse_url("http://[::1]:8080/x?y=1", &u, &error));
  REQUIRE(u.host == "::1");
  REQUIRE(u.port == "8080");
  REQUIRE(u.path == "/x?y=1");
  REQUIRE(u.authority == "[::1]:8080");
  REQUIRE_FALSE(parse_url("http://h/a b", &u, &error));
}
