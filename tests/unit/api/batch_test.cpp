// api/batch: the forms a body is read in, the split of arrays and NDJSON into records (spans
// into the body), each record validated with the failing one's index, --max-batch; and
// api/gzip_body: gzip decoded within --max-body, bombs and corrupt input refused.
#include "busyring/api/batch.h"

#include <simdjson.h>

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "../../support/gzip.h"
#include "busyring/api/gzip_body.h"
#include "busyring/storage/record.h"

using namespace busyring::api;
using busyring::http::ContentType;
using busyring::test::gzipped;

namespace {

const std::string kUsage = R"({"patientId":"1","timestamp":"t","medication":"m"})";

struct Reader {
  UsageValidator validator;
  BatchReader reader;
  simdjson::padded_string body;
  explicit Reader(uint32_t max_batch = 100) {
    REQUIRE(validator.init(1 << 16));
    REQUIRE(reader.init(max_batch));
  }
  std::optional<BatchError> read(BodyForm form, const std::string& text) {
    body = simdjson::padded_string(text);
    return reader.read(form, std::string_view(body.data(), body.size()), validator);
  }
  std::vector<std::string> records() const {
    std::vector<std::string> out;
    for (uint32_t k = 0; k < reader.count(); ++k)
      out.emplace_back(body.data() + reader.spans()[k].offset, reader.spans()[k].bytes);
    return out;
  }
};

}  // namespace

TEST_CASE("the body's form: NDJSON by Content-Type, an array by its first byte, else one usage", "[api][batch]") {
  CHECK(body_form(ContentType::ndjson, kUsage) == BodyForm::lines);
  CHECK(body_form(ContentType::json, " \n[" + kUsage + "]") == BodyForm::array);
  CHECK(body_form(ContentType::other, "[]") == BodyForm::array);
  CHECK(body_form(ContentType::json, kUsage) == BodyForm::single);
  CHECK(body_form(ContentType::none, "") == BodyForm::single);
  CHECK(has_several_lines(kUsage + "\n" + kUsage + "\n"));
  CHECK_FALSE(has_several_lines(kUsage + "\n \r\n"));
  CHECK_FALSE(has_several_lines("\n" + kUsage));
}

TEST_CASE("arrays and NDJSON split into the records as sent", "[api][batch]") {
  Reader r;
  const std::string nested =
      R"({"patientId":2,"timestamp":"t]\\","medication":"m\"}\\\"","x":[{"y":[]}],"z":"\\\\"})";
  REQUIRE_FALSE(r.read(BodyForm::array, " [ " + kUsage + " ,\n" + nested + "\t] \n"));
  CHECK(r.records() == std::vector<std::string>{kUsage, nested});
  CHECK(r.reader.record_bytes() == busyring::storage::record_bytes(kUsage.size()) +
                                       busyring::storage::record_bytes(nested.size()));
  REQUIRE_FALSE(r.read(BodyForm::lines, "\r\n" + kUsage + "\r\n\n  " + nested));
  CHECK(r.records() == std::vector<std::string>{kUsage, nested});
}

TEST_CASE("a batch's first bad record is named by index", "[api][batch]") {
  Reader r;
  struct Case {
    BodyForm form;
    std::string body;
    ErrorId error;
    std::optional<uint32_t> index;
  };
  const std::string bad = R"({"patientId":"1","timestamp":"t"})";
  const Case cases[] = {
      {BodyForm::array, "[" + kUsage + "," + bad + "," + kUsage + "]", ErrorId::missing_medication, 1},
      {BodyForm::array, "[" + kUsage + ",7]", ErrorId::record_not_object, 1},
      {BodyForm::array, "[" + kUsage + ",,]", ErrorId::bad_json, 1},
      {BodyForm::array, "[" + kUsage + "," + kUsage + ",]", ErrorId::bad_json, 2},
      {BodyForm::array, "[" + kUsage + " " + kUsage + "]", ErrorId::bad_json, 0},
      {BodyForm::array, "[" + kUsage, ErrorId::bad_json, 0},
      {BodyForm::array, "[" + kUsage + "] x", ErrorId::bad_json, std::nullopt},
      {BodyForm::array, "[{\"a\":\"unclosed]", ErrorId::bad_json, 0},
      {BodyForm::array, "[ ]", ErrorId::empty_batch, std::nullopt},
      {BodyForm::lines, kUsage + "\n" + kUsage + "\n" + bad + "\n", ErrorId::missing_medication, 2},
      {BodyForm::lines, kUsage + "\n{\"patientId\":\n", ErrorId::bad_json, 1},
      {BodyForm::lines, kUsage + "\n[1]\n", ErrorId::record_not_object, 1},
      {BodyForm::lines, " \r\n\n", ErrorId::empty_batch, std::nullopt},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    const auto e = r.read(c.form, c.body);
    REQUIRE(e.has_value());
    CHECK(e->error == c.error);
    CHECK(e->index == c.index);
  }
}

TEST_CASE("--max-batch: K records pass, K + 1 are refused", "[api][batch]") {
  Reader r(3);
  REQUIRE_FALSE(r.read(BodyForm::array, "[" + kUsage + "," + kUsage + "," + kUsage + "]"));
  CHECK(r.reader.count() == 3);
  const auto e = r.read(BodyForm::lines, kUsage + "\n" + kUsage + "\n" + kUsage + "\n" + kUsage + "\n");
  REQUIRE(e.has_value());
  CHECK(e->error == ErrorId::batch_too_large);
}

TEST_CASE("gzip bodies decode within the bound; bombs, corrupt and truncated input are refused", "[api][batch]") {
  GzipBody g;
  REQUIRE(g.init(1000, simdjson::SIMDJSON_PADDING));
  std::string_view out;
  REQUIRE_FALSE(g.decode(gzipped(kUsage), out));
  CHECK(out == kUsage);
  const std::string exactly(1000, 'x');
  REQUIRE_FALSE(g.decode(gzipped(exactly), out));
  CHECK(out == exactly);
  CHECK(g.decode(gzipped(exactly + "x"), out) == ErrorId::decoded_too_large);
  CHECK(g.decode(gzipped(std::string(10'000'000, ' ')), out) == ErrorId::decoded_too_large);
  const std::string whole = gzipped(kUsage);
  CHECK(g.decode(whole.substr(0, whole.size() - 4), out) == ErrorId::bad_gzip);
  CHECK(g.decode(kUsage, out) == ErrorId::bad_gzip);
  CHECK(g.decode(whole + "junk", out) == ErrorId::bad_gzip);
  CHECK(g.decode("", out) == ErrorId::bad_gzip);
  REQUIRE_FALSE(g.decode(gzipped("ab") + gzipped("cd"), out));  // two members: one body
  CHECK(out == "abcd");
  REQUIRE_FALSE(g.decode(gzipped(kUsage), out));  // usable again after every failure
  CHECK(out == kUsage);
}
