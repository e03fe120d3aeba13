// base/log: the three line shapes (text, journal priority prefix, JSON), JSON escaping of every
// byte a message may hold (checked by simdjson's validating parser), and cutting an over-long
// line without breaking it.
#include "busyring/base/log.h"

#include <simdjson.h>

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

using namespace busyring::base;

namespace {

// 2023-11-14T22:13:20.123Z
constexpr uint64_t kWallNs = 1'700'000'000'123'456'789ull;

std::string line(const LineStyle& style, Level level, std::string_view msg,
                 std::initializer_list<LogField> fields = {}, size_t cap = 4096) {
  std::vector<char> buf(cap);
  const size_t n = format_line(buf.data(), cap, style, level, kWallNs, msg, fields);
  REQUIRE(n <= cap);
  return std::string(buf.data(), n);
}

std::string escaped(std::string_view s) {
  std::vector<char> buf(s.size() * 6 + 1);
  const size_t n = json_escape(buf.data(), 0, buf.size(), s);
  return std::string(buf.data(), n);
}

// The JSON object of a line (without the trailing newline), parsed by simdjson; REQUIREs validity.
simdjson::dom::element parse_line(simdjson::dom::parser& parser, const std::string& l) {
  REQUIRE(!l.empty());
  REQUIRE(l.back() == '\n');
  simdjson::dom::element doc;
  const auto error = parser.parse(l.data(), l.size() - 1).get(doc);
  INFO("line: " << l);
  REQUIRE(error == simdjson::SUCCESS);
  return doc;
}

std::string_view str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  REQUIRE(e[key].get(v) == simdjson::SUCCESS);
  return v;
}

}  // namespace

TEST_CASE("a text line is timestamp, level and message", "[base][log]") {
  CHECK(line({LogFormat::text, false}, Level::info, "listening on 0.0.0.0:3000") ==
        "2023-11-14T22:13:20.123Z info listening on 0.0.0.0:3000\n");
  CHECK(line({LogFormat::text, false}, Level::warn, "w") == "2023-11-14T22:13:20.123Z warn w\n");
  // Fields are for machines: the text line says the same in its prose and shows none.
  CHECK(line({LogFormat::text, false}, Level::error, "e", {{"shard", uint64_t{3}}}) ==
        "2023-11-14T22:13:20.123Z error e\n");
}

TEST_CASE("in the journal a line starts with its syslog priority and has no timestamp", "[base][log]") {
  const LineStyle journal{LogFormat::text, true};
  CHECK(line(journal, Level::debug, "d") == "<7>d\n");
  CHECK(line(journal, Level::info, "i") == "<6>i\n");
  CHECK(line(journal, Level::warn, "w") == "<4>w\n");
  CHECK(line(journal, Level::error, "e") == "<3>e\n");
  // JSON in the journal keeps its object whole behind the prefix.
  CHECK(line({LogFormat::json, true}, Level::warn, "w") ==
        "<4>{\"ts\":\"2023-11-14T22:13:20.123Z\",\"level\":\"warn\",\"msg\":\"w\"}\n");
}

TEST_CASE("a JSON line is one object: ts, level, msg and fields", "[base][log]") {
  CHECK(line({LogFormat::json, false}, Level::info, "listening", {{"bind", "0.0.0.0"}, {"port", uint64_t{3000}}}) ==
        "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"level\":\"info\",\"msg\":\"listening\","
        "\"fields\":{\"bind\":\"0.0.0.0\",\"port\":3000}}\n");
  CHECK(line({LogFormat::json, false}, Level::debug, "") ==
        "{\"ts\":\"2023-11-14T22:13:20.123Z\",\"level\":\"debug\",\"msg\":\"\"}\n");
}

TEST_CASE("JSON escaping: quotes, backslashes, control characters", "[base][log]") {
  CHECK(escaped("plain text") == "plain text");
  CHECK(escaped("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(escaped("C:\\dir") == "C:\\\\dir");
  CHECK(escaped("a\nb\rc\td\be\ff") == "a\\nb\\rc\\td\\be\\ff");
  CHECK(escaped(std::string("\x01\x1f", 2)) == "\\u0001\\u001f");
  CHECK(escaped(std::string("nul\0byte", 8)) == "nul\\u0000byte");
  CHECK(escaped("\x7f") == "\x7f");  // DEL needs no escape in JSON
  CHECK(escaped("/") == "/");
}

TEST_CASE("JSON escaping keeps valid UTF-8 and replaces every invalid byte", "[base][log]") {
  CHECK(escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(escaped("\xff") == "\\ufffd");
  CHECK(escaped("a\x80z") == "a\\ufffdz");            // a lone continuation byte
  CHECK(escaped("\xc0\x80") == "\\ufffd\\ufffd");     // overlong NUL
  CHECK(escaped("\xe0\x80\xaf") == "\\ufffd\\ufffd\\ufffd");  // overlong '/'
  CHECK(escaped("\xed\xa0\x80") == "\\ufffd\\ufffd\\ufffd");  // a UTF-16 surrogate
  CHECK(escaped("\xf4\x90\x80\x80") == "\\ufffd\\ufffd\\ufffd\\ufffd");  // past U+10FFFF
  CHECK(escaped("cut \xe2\x82") == "cut \\ufffd\\ufffd");  // a sequence cut short
}

TEST_CASE("JSON escaping stops at a character boundary when the buffer is full", "[base][log]") {
  char buf[8];
  CHECK(json_escape(buf, 0, 4, "ab\"cd") == 4);  // a b \ " fit; c does not
  CHECK(std::string(buf, 4) == "ab\\\"");
  CHECK(json_escape(buf, 0, 3, "ab\"cd") == 2);  // never half of an escape
  CHECK(json_escape(buf, 0, 3, "a\xc3\xa9") == 3);
  CHECK(json_escape(buf, 0, 2, "a\xc3\xa9") == 1);  // never half of é
  CHECK(json_escape(buf, 0, 6, "\x01") == 6);
  CHECK(json_escape(buf, 0, 5, "\x01") == 0);
}

TEST_CASE("every JSON line is valid JSON whatever bytes the message holds", "[base][log]") {
  simdjson::dom::parser parser;
  std::mt19937 rng(19);
  for (int round = 0; round < 2000; ++round) {
    std::string msg(rng() % 300, '\0');
    for (char& c : msg) c = static_cast<char>(rng() % 256);
    const std::string value(rng() % 40, static_cast<char>(rng() % 256));
    const size_t cap = 256 + rng() % 1000;
    const std::string l = line({LogFormat::json, false}, Level::warn, msg, {{"k\"ey", value}, {"n", uint64_t{7}}}, cap);
    INFO("round " << round << " cap " << cap);
    simdjson::dom::element doc = parse_line(parser, l);
    CHECK(str(doc, "level") == "warn");
    CHECK(str(doc, "ts") == "2023-11-14T22:13:20.123Z");
  }
}

TEST_CASE("an over-long line is cut and stays well-formed", "[base][log]") {
  simdjson::dom::parser parser;
  const std::string long_msg(5000, 'x');
  SECTION("json: the message is cut, the object closed; fields that no longer fit are left out") {
    const std::string l = line({LogFormat::json, false}, Level::info, long_msg, {{"port", uint64_t{1}}}, 300);
    CHECK(l.size() <= 300);
    simdjson::dom::element doc = parse_line(parser, l);
    CHECK(str(doc, "msg").size() > 200);
    CHECK(str(doc, "msg").find_first_not_of('x') == std::string_view::npos);
    simdjson::dom::element fields;
    CHECK(doc["fields"].get(fields) == simdjson::NO_SUCH_FIELD);
  }
  SECTION("json: a field that does not fit is dropped whole, those before it stay") {
    const std::string big(400, 'v');
    const std::string l = line({LogFormat::json, false}, Level::info, "m", {{"a", "short"}, {"b", big}}, 300);
    simdjson::dom::element doc = parse_line(parser, l);
    CHECK(str(doc["fields"], "a") == "short");
    simdjson::dom::element b;
    CHECK(doc["fields"]["b"].get(b) == simdjson::NO_SUCH_FIELD);
  }
  SECTION("text: cut at a character boundary, one newline at the end") {
    std::string utf8;
    for (int i = 0; i < 200; ++i) utf8 += "\xc3\xa9";
    const std::string l = line({LogFormat::text, true}, Level::info, utf8, {}, 256);
    CHECK(l.size() <= 256);
    CHECK(l.back() == '\n');
    CHECK(l.find('\n') == l.size() - 1);
    CHECK((l.size() - 1 - 3) % 2 == 0);  // "<6>" then whole two-byte characters
  }
}

TEST_CASE("log levels and formats parse from their names only", "[base][log]") {
  Level l = Level::info;
  CHECK(parse_level("debug", l));
  CHECK(l == Level::debug);
  CHECK(parse_level("error", l));
  CHECK(l == Level::error);
  CHECK_FALSE(parse_level("warning", l));
  CHECK_FALSE(parse_level("", l));
  CHECK_FALSE(parse_level("INFO", l));
  LogFormat f = LogFormat::text;
  CHECK(parse_log_format("json", f));
  CHECK(f == LogFormat::json);
  CHECK_FALSE(parse_log_format("yaml", f));
}
