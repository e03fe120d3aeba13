// ids/etcd_wire: base64 both ways (RFC 4648 vectors, non-canonical input refused), the request
// bodies (checked by parsing them back), and etcd 3.4's replies as its gateway writes them
// (64-bit numbers as strings, defaults left out).
#include "ids/etcd_wire.h"

#include <catch2/catch.hpp>

#include <string>

using namespace busyring::ids;

TEST_CASE("base64 round-trips RFC 4648's vectors and every byte", "[ids]") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    INFO(plain);
    CHECK(base64_encode(plain) == coded);
    std::string back;
    REQUIRE(base64_decode(coded, back));
    CHECK(back == plain);
  }
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  std::string back;
  REQUIRE(base64_decode(base64_encode(all), back));
  CHECK(back == all);
}

TEST_CASE("base64_decode refuses what is not canonical padded base64", "[ids]") {
  std::string out;
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zh==", "Zm9=", "Zm=v", "Zm9v=g==", "Zm9v!A==", "Zg==Zg==", "===="}) {
    INFO(bad);
    CHECK_FALSE(base64_decode(bad, out));
  }
}

TEST_CASE("json_string escapes quotes, backslashes and control characters", "[ids]") {
  CHECK(json_string("pa\"ss\\word\n\x01") == "\"pa\\\"ss\\\\word\\u000a\\u0001\"");
  simdjson::dom::parser parser;
  const std::string doc = etcd_authenticate_json("u\"ser", "p:a ss\"\\\t");
  simdjson::dom::element e;
  REQUIRE(parser.parse(doc).get(e) == simdjson::SUCCESS);
  std::string_view name, password;
  REQUIRE(e["name"].get(name) == simdjson::SUCCESS);
  REQUIRE(e["password"].get(password) == simdjson::SUCCESS);
  CHECK(name == "u\"ser");
  CHECK(password == "p:a ss\"\\\t");
}

TEST_CASE("the reservation transaction compares the counter's revision and the node's record", "[ids]") {
  EtcdReserveTxn txn{"/b/counter", 42, 228, "/b/node/n1", std::string("1 101"), "101 229"};
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  const std::string doc = etcd_reserve_txn_json(txn);
  REQUIRE(parser.parse(doc).get(e) == simdjson::SUCCESS);
  const auto text = [&](simdjson::dom::element x, const char* field) {
    std::string_view v;
    REQUIRE(x[field].get(v) == simdjson::SUCCESS);
    return std::string(v);
  };
  const auto decoded = [&](simdjson::dom::element x, const char* field) {
    std::string out;
    REQUIRE(base64_decode(text(x, field), out));
    return out;
  };
  simdjson::dom::array compare, success, failure;
  REQUIRE(e["compare"].get(compare) == simdjson::SUCCESS);
  REQUIRE(e["success"].get(success) == simdjson::SUCCESS);
  REQUIRE(e["failure"].get(failure) == simdjson::SUCCESS);
  REQUIRE(compare.size() == 2);
  CHECK(decoded(compare.at(0).value(), "key") == "/b/counter");
  CHECK(text(compare.at(0).value(), "target") == "MOD");
  CHECK(text(compare.at(0).value(), "mod_revision") == "42");
  CHECK(decoded(compare.at(1).value(), "key") == "/b/node/n1");
  CHECK(text(compare.at(1).value(), "target") == "VALUE");
  CHECK(decoded(compare.at(1).value(), "value") == "1 101");
  REQUIRE(success.size() == 2);
  CHECK(decoded(success.at(0).value()["request_put"].value(), "value") == "228");
  CHECK(decoded(success.at(1).value()["request_put"].value(), "key") == "/b/node/n1");
  CHECK(decoded(success.at(1).value()["request_put"].value(), "value") == "101 229");
  REQUIRE(failure.size() == 2);
  CHECK(decoded(failure.at(0).value()["request_range"].value(), "key") == "/b/counter");
  CHECK(decoded(failure.at(1).value()["request_range"].value(), "key") == "/b/node/n1");

  // No range taken yet: the record must be absent (version 0).
  txn.last_record.reset();
  REQUIRE(parser.parse(etcd_reserve_txn_json(txn)).get(e) == simdjson::SUCCESS);
  REQUIRE(e["compare"].get(compare) == simdjson::SUCCESS);
  CHECK(text(compare.at(1).value(), "target") == "VERSION");
  CHECK(text(compare.at(1).value(), "version") == "0");
}

TEST_CASE("txn replies: succeeded, the failure branch's reads, a missing key, defaults left out", "[ids]") {
  simdjson::dom::parser parser;
  // Taken from etcd 3.4.23's gateway.
  const char* won =
      R"({"header":{"cluster_id":"1","member_id":"2","revision":"3","raft_term":"2"},"succeeded":true,)"
      R"("responses":[{"response_put":{"header":{"revision":"3"}}},{"response_put":{"header":{"revision":"3"}}}]})";
  auto r = parse_etcd_txn_reply(parser, won);
  REQUIRE(r);
  CHECK(r.value().succeeded);
  CHECK(r.value().revision == 3);
  CHECK(r.value().ranges.empty());

  const char* lost =
      R"({"header":{"revision":"7"},"responses":[{"response_range":{"header":{"revision":"7"},"kvs":[{"key":"L2IvY291bnRlcg==",)"
      R"("create_revision":"2","mod_revision":"6","version":"3","value":"MjI4"}],"count":"1"}},)"
      R"({"response_range":{"header":{"revision":"7"}}}]})";
  r = parse_etcd_txn_reply(parser, lost);
  REQUIRE(r);
  CHECK_FALSE(r.value().succeeded);
  REQUIRE(r.value().ranges.size() == 2);
  CHECK(r.value().ranges[0].exists);
  CHECK(r.value().ranges[0].value == "228");
  CHECK(r.value().ranges[0].mod_revision == 6);
  CHECK_FALSE(r.value().ranges[1].exists);

  // An empty value is left out too.
  r = parse_etcd_txn_reply(parser, R"({"header":{"revision":"9"},"succeeded":true,"responses":[)"
                                   R"({"response_range":{"kvs":[{"key":"YQ==","mod_revision":"8"}],"count":"1"}}]})");
  REQUIRE(r);
  REQUIRE(r.value().ranges.size() == 1);
  CHECK(r.value().ranges[0].exists);
  CHECK(r.value().ranges[0].value.empty());

  for (const char* bad : {"", "not json", "{}", R"({"header":{}})", R"({"header":{"revision":"x"}})",
                          R"({"header":{"revision":"1"},"responses":[{"response_range":{"kvs":[{"value":"!!"}]}}]})"}) {
    INFO(bad);
    CHECK_FALSE(parse_etcd_txn_reply(parser, bad));
  }
}

TEST_CASE("error replies give etcd's gRPC code and message; tokens are read from authenticate", "[ids]") {
  simdjson::dom::parser parser;
  EtcdError e = parse_etcd_error(
      parser, R"({"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16})");
  CHECK(e.code == kEtcdUnauthenticated);
  CHECK(e.message == "etcdserver: invalid auth token");
  e = parse_etcd_error(parser, "upstream connect error");
  CHECK(e.code == -1);
  CHECK(e.message == "upstream connect error");

  auto token = parse_etcd_token(parser, R"({"header":{"revision":"3"},"token":"JBmnLMXeDthvmlPF.16"})");
  REQUIRE(token);
  CHECK(token.value() == "JBmnLMXeDthvmlPF.16");
  CHECK_FALSE(parse_etcd_token(parser, R"({"header":{"revision":"3"}})"));
}

TEST_CASE("counter values are plain decimal u64", "[ids]") {
  CHECK(parse_counter_value("0") == uint64_t{0});
  CHECK(parse_counter_value("18446744073709551615") == UINT64_MAX);
  for (const char* bad : {"", "-1", "+1", "1 ", " 1", "0x10", "18446744073709551616", "1e3"}) {
    INFO(bad);
    CHECK_FALSE(parse_counter_value(bad));
  }
}
