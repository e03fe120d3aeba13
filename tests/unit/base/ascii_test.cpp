// base/ascii: the header-token helpers the HTTP parser and the load generator share. ASCII
// case only (no locale: bytes above 0x7f and the neighbours of the letters stay as they are),
// and trimming takes only spaces and tabs (HTTP's OWS), never CR, LF or other bytes.
#include "busyring/base/ascii.h"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using busyring::base::ieq;
using busyring::base::lower;
using busyring::base::trim;

TEST_CASE("lower maps exactly A..Z", "[base]") {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const char want = c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : ch;
    INFO("byte " << c);
    CHECK(lower(ch) == want);
  }
}

TEST_CASE("ieq compares ignoring ASCII case only", "[base]") {
  struct Case {
    std::string_view a, b;
    bool equal;
  };
  const Case cases[] = {
      {"", "", true},
      {"chunked", "chunked", true},
      {"CHUNKED", "chunked", true},
      {"chunked", "ChUnKeD", true},  // either side may carry capitals
      {"Transfer-Encoding", "transfer-encoding", true},
      {"chunked", "chunke", false},
      {"chunked ", "chunked", false},
      {"@", "`", false},  // 0x40 and 0x60 differ by the case bit but are no letters
      {"[", "{", false},
      {"\xc3\x89", "\xc3\xa9", false},  // UTF-8 É and é: not ASCII, not folded
  };
  for (const Case& c : cases) {
    INFO('"' << std::string(c.a) << "\" vs \"" << std::string(c.b) << '"');
    CHECK(ieq(c.a, c.b) == c.equal);
    CHECK(ieq(c.b, c.a) == c.equal);
  }
}

TEST_CASE("trim takes spaces and tabs off both ends and nothing else", "[base]") {
  struct Case {
    std::string_view in, out;
  };
  const Case cases[] = {
      {"", ""},
      {" \t ", ""},
      {"close", "close"},
      {"  keep-alive\t", "keep-alive"},
      {"a b", "a b"},           // inner whitespace stays
      {"\r\nclose\r\n", "\r\nclose\r\n"},  // CR and LF are no OWS
      {"\vx\f", "\vx\f"},
  };
  for (const Case& c : cases) {
    INFO('"' << std::string(c.in) << '"');
    CHECK(trim(c.in) == c.out);
  }
  const std::string_view s = "  value ";
  CHECK(trim(s).data() == s.data() + 2);  // a view into the input, never a copy
}
