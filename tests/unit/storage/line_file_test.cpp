// storage/line_file: the one strict parser of the small state files (retired segments, export
// checkpoints). Plain decimal numbers only, words on single spaces, the magic line first, the
// end line last with the right count; hostile input (cut anywhere, garbage, overflow, text
// after the end) is refused with the line it stopped at.
#include "busyring/storage/line_file.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace busyring::storage;

namespace {

constexpr LineFileShape kShape{.magic = "magic 1", .header_lines = 1, .entries = "things"};

struct Walk {
  std::vector<std::string> headers;
  std::vector<std::string> entries;
};

// Headers must be "h N"; entries "thing N".
busyring::base::Status walk(const std::string& text, Walk& w) {
  return parse_line_file(text, kShape, [&](size_t line_no, std::string_view line, bool is_header) -> std::string {
    uint64_t n = 0;
    if (is_header) {
      CHECK(line_no == 2);
      if (!parse_named_number(line, "h", &n)) return "want 'h N'";
      w.headers.emplace_back(line);
      return "";
    }
    if (!parse_named_number(line, "thing", &n)) return "want 'thing N'";
    w.entries.emplace_back(line);
    return "";
  });
}

}  // namespace

TEST_CASE("plain decimal numbers parse; signs, leading zeros, spaces and overflow do not", "[storage]") {
  const struct {
    const char* text;
    bool ok;
    uint64_t value;
  } cases[] = {
      {"0", true, 0},
      {"7", true, 7},
      {"18446744073709551615", true, UINT64_MAX},
      {"18446744073709551616", false, 0},  // one past the max
      {"99999999999999999999999", false, 0},
      {"", false, 0},
      {"007", false, 0},
      {"00", false, 0},
      {"+1", false, 0},
      {"-1", false, 0},
      {" 1", false, 0},
      {"1 ", false, 0},
      {"1x", false, 0},
      {"0x10", false, 0},
      {"1e3", false, 0},
  };
  for (const auto& c : cases) {
    INFO("'" << c.text << "'");
    uint64_t v = 12345;
    CHECK(parse_u64(c.text, &v) == c.ok);
    CHECK(v == (c.ok ? c.value : 12345));  // a refused number leaves the output alone
  }
  uint32_t v32 = 0;
  CHECK(parse_u32("4294967295", &v32));
  CHECK(v32 == UINT32_MAX);
  CHECK_FALSE(parse_u32("4294967296", &v32));
  CHECK(v32 == UINT32_MAX);
}

TEST_CASE("words split on single spaces, keeping the empty word between two spaces", "[storage]") {
  CHECK(split_words("a b c") == std::vector<std::string_view>{"a", "b", "c"});
  CHECK(split_words("a  b") == std::vector<std::string_view>{"a", "", "b"});
  CHECK(split_words("") == std::vector<std::string_view>{""});
  CHECK(split_words(" a") == std::vector<std::string_view>{"", "a"});
  uint64_t n = 0;
  CHECK(parse_named_number("end 3", "end", &n));
  CHECK(n == 3);
  CHECK_FALSE(parse_named_number("end  3", "end", &n));
  CHECK_FALSE(parse_named_number("end 3 4", "end", &n));
  CHECK_FALSE(parse_named_number("ends 3", "end", &n));
}

TEST_CASE("a well-formed line file hands over its headers and entries in order", "[storage]") {
  Walk w;
  const auto st = walk("magic 1\nh 5\nthing 1\nthing 2\nend 2\n", w);
  INFO((st ? "" : st.error()));
  REQUIRE(st);
  CHECK(w.headers == std::vector<std::string>{"h 5"});
  CHECK(w.entries == std::vector<std::string>{"thing 1", "thing 2"});
  Walk empty;
  CHECK(walk("magic 1\nh 0\nend 0\n", empty));
  CHECK(empty.entries.empty());
}

TEST_CASE("a line file cut anywhere is refused", "[storage]") {
  const std::string good = "magic 1\nh 5\nthing 1\nthing 2\nend 2\n";
  for (size_t cut = 0; cut < good.size(); ++cut) {
    INFO("cut at " << cut);
    Walk w;
    const auto st = walk(good.substr(0, cut), w);
    REQUIRE_FALSE(st);
    CHECK((st.error().find("cut short") != std::string::npos || st.error().find("no end line") != std::string::npos ||
           st.error().find("says") != std::string::npos));
  }
}

TEST_CASE("a hostile line file is refused naming the line", "[storage]") {
  const struct {
    std::string text;
    const char* says;
  } cases[] = {
      {"magic 2\nh 5\nend 0\n", "line 1: want 'magic 1'"},
      {"magic 1\r\nh 5\nend 0\n", "line 1: want 'magic 1'"},
      {"\x7f\x45LF\x01\n", "line 1: want"},
      {"magic 1\nend 0\n", "line 2: want 'h N'"},  // the end line cannot stand for a header
      {"magic 1\nh 5\nthing 1\nend 2\n", "line 4: says 2 things, the file has 1"},
      {"magic 1\nh 5\nthing 1\nend 18446744073709551617\n", "line 4: want 'thing N'"},  // overflow: not an end
      {"magic 1\nh 5\nend 0\nthing 1\n", "line 4: text after the end line"},
      {"magic 1\nh 5\nend 0\nend 0\n", "line 4: text after the end line"},
      {"magic 1\nh 5\nthing 1\n\nend 1\n", "line 4: want 'thing N'"},
      {"magic 1\nh 5\nthing \xff\nend 1\n", "line 3: want 'thing N'"},
      {std::string("magic 1\nh 5\nthing 1\0\nend 1\n", 25), "line 3: want 'thing N'"},
      {"magic 1\nh 5\nend 0", "line 3 is cut short"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    Walk w;
    const auto st = walk(c.text, w);
    REQUIRE_FALSE(st);
    CHECK(st.error().find(c.says) != std::string::npos);
  }
}
