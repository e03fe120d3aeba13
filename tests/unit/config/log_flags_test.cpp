// config/flags: --log-format and --log-level (issue 19), in both forms, with their defaults and
// refusals naming the flag.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "busyring/config/flags.h"

using namespace busyring;

namespace {

base::Result<config::Parsed> parse(std::vector<std::string> args) {
  args.insert(args.begin(), "busyring");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return config::parse_flags(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("--log-format and --log-level default to text and info", "[config]") {
  auto r = parse({});
  REQUIRE(r.ok());
  CHECK(r.value().config.log_format == base::LogFormat::text);
  CHECK(r.value().config.log_level == base::Level::info);
}

TEST_CASE("--log-format json and --log-level take their values in both forms", "[config]") {
  for (const auto& args : {std::vector<std::string>{"--log-format", "json", "--log-level", "debug"},
                           std::vector<std::string>{"--log-format=json", "--log-level=debug"}}) {
    auto r = parse(args);
    REQUIRE(r.ok());
    CHECK(r.value().config.log_format == base::LogFormat::json);
    CHECK(r.value().config.log_level == base::Level::debug);
  }
  auto warn = parse({"--log-level", "warn"});
  REQUIRE(warn.ok());
  CHECK(warn.value().config.log_level == base::Level::warn);
}

TEST_CASE("a bad --log-format or --log-level is refused naming the flag and the choices", "[config]") {
  auto format = parse({"--log-format", "xml"});
  REQUIRE_FALSE(format.ok());
  CHECK_THAT(format.error(), Catch::StartsWith("--log-format") && Catch::Contains("text or json"));
  auto level = parse({"--log-level=verbose"});
  REQUIRE_FALSE(level.ok());
  CHECK_THAT(level.error(), Catch::StartsWith("--log-level") && Catch::Contains("debug, info, warn or error"));
}

TEST_CASE("--help names --log-format and --log-level", "[config]") {
  const std::string help = config::help_text();
  CHECK(help.find("--log-format") != std::string::npos);
  CHECK(help.find("--log-level") != std::string::npos);
}
