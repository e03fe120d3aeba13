// api/auth: the token file format (one token per line, comments and blank lines skipped,
// errors naming the line but never its content), the fixed-work comparison (every near miss
// refused; as long whether a guess goes wrong at its first byte or its last), and the verdict
// on a head's credentials.
#include "busyring/api/auth.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "../support/temp_dir.h"

using namespace busyring;
using api::TokenSet;

namespace {

const std::string kA = "tokenAAAAAAAAAAAAAAAAAAAAAAAAAAA";  // 32 bytes
const std::string kB = "rotated-token_B.~+/0123456789==";

TokenSet parse_ok(const std::string& text) {
  auto set = api::parse_token_text(text, "--auth-token-file F");
  INFO((set ? std::string() : set.error()));
  REQUIRE(set.ok());
  return set.value();
}

std::string parse_error(const std::string& text) {
  auto set = api::parse_token_text(text, "--auth-token-file F");
  REQUIRE_FALSE(set.ok());
  return set.error();
}

}  // namespace

TEST_CASE("a token file: one token per line, comments and blank lines skipped, spaces and CR trimmed", "[auth]") {
  const TokenSet set = parse_ok("# clients of 2026-12\n\n  " + kA + " \r\n\t" + kB + "\n# old: none\n");
  CHECK(set.size() == 2);
  CHECK(set.accepts(kA));
  CHECK(set.accepts(kB));
  CHECK_FALSE(set.accepts("# clients of 2026-12"));
  CHECK(parse_ok(kA).size() == 1);                  // no final newline
  CHECK(parse_ok(kA + "\n" + kA + "\n").size() == 1);  // a repeated token counts once
}

TEST_CASE("a token file that cannot be used is refused, naming the line and never its content", "[auth]") {
  struct Row {
    std::string text;
    std::string says;
  };
  const std::vector<Row> rows = {
      {"", "holds no token"},
      {"# only a comment\n\n", "holds no token"},
      {kA + "\nshort-secret\n", "line 2 is shorter than 16"},
      {"# c\n" + kA + " " + kB + "\n", "line 2 is not a bearer token"},
      {"tok=en-in-the-middle-0123456789\n", "line 1 is not a bearer token"},
      {"bad\x01token0123456789abcdef\n", "line 1 is not a bearer token"},
      {std::string(257, 'x') + "\n", "line 1 is longer than 256"},
  };
  for (const Row& row : rows) {
    const std::string error = parse_error(row.text);
    INFO(error);
    CHECK(error.find("--auth-token-file F: ") == 0);
    CHECK(error.find(row.says) != std::string::npos);
    CHECK(error.find("short-secret") == std::string::npos);
    CHECK(error.find(kB) == std::string::npos);
    CHECK(error.find("tok=en") == std::string::npos);
  }
  std::string many;
  for (int i = 0; i < 33; ++i) many += "token-number-" + std::to_string(100 + i) + "-abcdef\n";
  CHECK(parse_error(many).find("more than 32 tokens") != std::string::npos);
}

TEST_CASE("the comparison refuses every near miss of a token", "[auth]") {
  const TokenSet set = parse_ok(kA + "\n" + kB + "\n");
  std::string first = kA, last = kA;
  first[0] = 'T';
  last.back() = 'B';
  CHECK_FALSE(set.accepts(first));
  CHECK_FALSE(set.accepts(last));
  CHECK_FALSE(set.accepts(kA.substr(0, kA.size() - 1)));  // a prefix
  CHECK_FALSE(set.accepts(kA + "A"));                     // longer
  CHECK_FALSE(set.accepts(kA + std::string(1, '\0')));    // the zero padding is not part of it
  CHECK_FALSE(set.accepts(""));
  CHECK_FALSE(set.accepts(std::string(300, 'A')));        // over the widest token
  CHECK_FALSE(set.accepts(kA.substr(0, 16) + kB.substr(16)));
  const std::string widest(http::kMaxBearerToken, 'w');
  const TokenSet wide = parse_ok(widest + "\n");
  CHECK(wide.accepts(widest));
  CHECK_FALSE(wide.accepts(widest + "w"));
}

// An early-exit comparison (memcmp, ==) answers a guess wrong at its first byte several
// times faster than one wrong at its last. The fixed-work one takes as long for both, and
// as long for a short guess as for a full-length one. Minimum of many runs, so that a
// preemption on a busy machine does not count; the bound is loose (an early exit is ~10x).
TEST_CASE("the comparison takes as long whatever byte a guess gets wrong, and whatever its length", "[auth]") {
  std::string text;
  for (int i = 0; i < 4; ++i) text += std::string(http::kMaxBearerToken - 1, static_cast<char>('a' + i)) + "\n";
  const TokenSet set = parse_ok(text);
  std::string wrong_first(http::kMaxBearerToken - 1, 'a'), wrong_last(http::kMaxBearerToken - 1, 'a');
  wrong_first[0] = 'z';
  wrong_last.back() = 'z';
  const std::string wrong_short = "zz";
  auto fastest = [&set](const std::string& guess) {
    double best = 1e30;
    for (int run = 0; run < 60; ++run) {
      const auto t0 = std::chrono::steady_clock::now();
      bool any = false;
      for (int i = 0; i < 400; ++i) any = set.accepts(guess) || any;
      const auto t1 = std::chrono::steady_clock::now();
      REQUIRE_FALSE(any);
      best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
    }
    return best;
  };
  const double first = fastest(wrong_first), last = fastest(wrong_last), shorter = fastest(wrong_short);
  INFO("first " << first << " s, last " << last << " s, short " << shorter << " s");
  CHECK(first > 0.5 * last);
  CHECK(first < 2.0 * last);
  CHECK(shorter > 0.5 * last);
  CHECK(shorter < 2.0 * last);
}

TEST_CASE("a head's credentials: missing, malformed (another scheme too), invalid or accepted", "[auth]") {
  const TokenSet set = parse_ok(kA + "\n");
  using http::Bearer;
  using http::Credentials;
  CHECK(api::check_credentials(Bearer{}, set) == api::AuthRefusal::missing);
  CHECK(api::check_credentials(Bearer{Credentials::other_scheme, {}}, set) == api::AuthRefusal::malformed);
  CHECK(api::check_credentials(Bearer{Credentials::malformed, {}}, set) == api::AuthRefusal::malformed);
  CHECK(api::check_credentials(Bearer{Credentials::bearer, kB}, set) == api::AuthRefusal::invalid);
  CHECK(api::check_credentials(Bearer{Credentials::bearer, kA}, set) == api::AuthRefusal::none);
}

TEST_CASE("load_token_file reads a file and says what is wrong with a missing one", "[auth]") {
  test::TempDir dir;
  const std::string path = dir.sub("tokens");
  {
    std::ofstream(path) << "# ours\n" << kA << "\n";
  }
  chmod(path.c_str(), 0600);
  auto set = api::load_token_file(path);
  REQUIRE(set.ok());
  CHECK(set.value().accepts(kA));
  auto missing = api::load_token_file(dir.sub("nope"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().find("--auth-token-file " + dir.sub("nope") + ": No such file") == 0);
  auto directory = api::load_token_file(dir.path());
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().find("not a regular file") != std::string::npos);
}
