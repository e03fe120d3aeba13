// Batches (issue 20 §1): many usages in one POST, as Vector's http sink and Fluent Bit's http
// output send them, byte for byte in their headers and framing, gzip included. A valid batch
// gets K consecutive ids and one 201 {"first_id":N,"count":K}, its records contiguous in the
// log; one invalid record anywhere gets 422 with its index and nothing of the batch is stored;
// --max-batch bounds K (413); a gzip bomb is stopped at --max-body (413); other codings 415.
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "batches.h"
#include "harness.h"
#include "load_driver.h"
#include "log_files.h"

using namespace blackbox;

namespace {

// The headers each tool sends, as their documentation and sources give them. Vector's http
// sink (hyper: lower-case names): Content-Type from the codec and framing, its User-Agent,
// Content-Encoding with compression = "gzip". Fluent Bit's out_http: Content-Type
// application/json for format json, application/x-ndjson for json_lines (since 3.0; before,
// application/json), User-Agent Fluent-Bit, Content-Encoding with compress gzip.
std::string vector_headers(bool ndjson_framing, bool gzip) {
  std::string h = "host: 127.0.0.1\r\n";
  h += ndjson_framing ? "content-type: application/x-ndjson\r\n" : "content-type: application/json\r\n";
  if (gzip) h += "content-encoding: gzip\r\n";
  h += "user-agent: Vector/0.34.1 (x86_64-unknown-linux-gnu 86f1c22 2023-11-16 14:59:10.486846964)\r\n";
  h += "accept-encoding: zstd,gzip,deflate,br\r\n";
  return h;
}

std::string fluent_bit_headers(const char* content_type, bool gzip) {
  std::string h = "Host: 127.0.0.1:3000\r\n";
  h += std::string("Content-Type: ") + content_type + "\r\n";
  h += "User-Agent: Fluent-Bit\r\n";
  if (gzip) h += "Content-Encoding: gzip\r\n";
  return h;
}

// Fluent Bit's records carry its own time key (json_date_key "date", a double by default).
std::vector<std::string> fluent_bit_records(const std::string& tag, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i)
    out.push_back(R"({"date":1765111111.123456,"patientId":"100","timestamp":"Tue Nov 01 2016",)"
                  R"("medication":"Albuterol","tag":")" + tag + "-" + std::to_string(i) + "\"}");
  return out;
}

// Sends one batch and REQUIREs 201 with count == records.size(); the ids it got, with bodies.
std::map<uint64_t, std::string> post_batch(Client& c, const std::string& body, const std::string& headers,
                                           const std::vector<std::string>& records) {
  const Response r = roundtrip(c, post_with_headers(body, headers));
  INFO("answer: " << r.status << " " << r.body);
  REQUIRE(r.status == 201);
  const BatchAck a = batch_ack(r);
  REQUIRE(a.count == records.size());
  REQUIRE(a.first_id > 0);
  std::map<uint64_t, std::string> got;
  for (size_t k = 0; k < records.size(); ++k) got.emplace(a.first_id + k, records[k]);
  return got;
}



}  // namespace

TEST_CASE("Vector and Fluent Bit batches are stored one record per usage under consecutive ids",
          "[blackbox][batch]") {
  TestServer s;
  std::map<uint64_t, std::string> acked;
  auto take = [&acked](const std::map<uint64_t, std::string>& got) {
    for (const auto& [id, body] : got) REQUIRE(acked.emplace(id, body).second);
  };
  {
    Client c(s.port());
    for (const bool gzip : {false, true}) {
      INFO("gzip " << gzip);
      const auto array = usage_bodies(std::string("vector-array-") + (gzip ? "gz" : "plain"), 25);
      const std::string a = json_array(array);
      take(post_batch(c, gzip ? gzipped(a) : a, vector_headers(false, gzip), array));
      const auto lines = usage_bodies(std::string("vector-ndjson-") + (gzip ? "gz" : "plain"), 30);
      const std::string l = ndjson(lines);
      take(post_batch(c, gzip ? gzipped(l) : l, vector_headers(true, gzip), lines));
      const auto fb = fluent_bit_records(std::string("fluentbit-json-") + (gzip ? "gz" : "plain"), 40);
      const std::string f = json_array(fb);
      take(post_batch(c, gzip ? gzipped(f) : f, fluent_bit_headers("application/json", gzip), fb));
      const auto fbl = fluent_bit_records(std::string("fluentbit-lines-") + (gzip ? "gz" : "plain"), 35);
      const std::string fl = ndjson(fbl);
      take(post_batch(c, gzip ? gzipped(fl) : fl, fluent_bit_headers("application/x-ndjson", gzip), fbl));
      // Fluent Bit before 3.0 sent json_lines as application/json: several lines are NDJSON.
      const auto old = fluent_bit_records(std::string("fluentbit-old-lines-") + (gzip ? "gz" : "plain"), 3);
      const std::string ol = ndjson(old);
      take(post_batch(c, gzip ? gzipped(ol) : ol, fluent_bit_headers("application/json", gzip), old));
    }
    // A single usage keeps its answer; a one-record array is a batch of one.
    const Response single = roundtrip(c, post_request(usage_body("single")));
    REQUIRE(single.status == 201);
    REQUIRE(id_of(single) > 0);
    acked.emplace(id_of(single), usage_body("single"));
    const auto one = usage_bodies("array-of-one", 1);
    take(post_batch(c, json_array(one), vector_headers(false, false), one));
    // Blank lines and CRLF line ends between NDJSON records are skipped.
    const auto crlf = usage_bodies("crlf", 2);
    take(post_batch(c, "\r\n" + crlf[0] + "\r\n\r\n  " + crlf[1] + "\r\n", vector_headers(true, false), crlf));
  }
  stop_cleanly(*s.server);
  const auto on_disk = stored_unique(s.dir.path());
  CHECK(on_disk == acked);  // every usage its own record, byte for byte, nothing else
  // Batch-only and sequential: no id is skipped.
  CHECK(acked.rbegin()->first == acked.size());
}

TEST_CASE("a batch's records are contiguous in one shard's log, in the order sent", "[blackbox][batch]") {
  TestServer s({"--threads", "1"});
  std::vector<std::map<uint64_t, std::string>> batches;
  {
    Client c(s.port());
    for (int b = 0; b < 20; ++b) {
      const auto records = usage_bodies("contiguous-" + std::to_string(b), 10 + b);
      batches.push_back(post_batch(c, json_array(records), vector_headers(false, false), records));
    }
  }
  stop_cleanly(*s.server);
  std::vector<RecordAt> in_file_order;
  for (const auto& seg : read_shard(s.dir.path(), 0))
    in_file_order.insert(in_file_order.end(), seg.records.begin(), seg.records.end());
  for (const auto& batch : batches) {
    const uint64_t first = batch.begin()->first;
    size_t at = 0;
    while (at < in_file_order.size() && in_file_order[at].id != first) ++at;
    REQUIRE(at + batch.size() <= in_file_order.size());
    for (const auto& [id, body] : batch) {
      INFO("id " << id);
      CHECK(in_file_order[at].id == id);
      CHECK(in_file_order[at].body == body);
      if (id != first) CHECK(in_file_order[at].offset == in_file_order[at - 1].offset + in_file_order[at - 1].record_bytes);
      ++at;
    }
  }
}

TEST_CASE("one invalid record gets 422 with its index and nothing of the batch is stored", "[blackbox][batch]") {
  TestServer s;
  std::map<uint64_t, std::string> acked;
  {
    Client c(s.port());
    struct Bad {
      std::string record;
      int status;
      const char* code;
    };
    const Bad bad[] = {
        {R"({"patientId":"1","timestamp":"t"})", 422, "invalid_usage"},           // no medication
        {R"({"patientId":true,"timestamp":"t","medication":"m"})", 422, "invalid_usage"},
        {R"("a string")", 422, "invalid_usage"},                                  // not an object
        {R"({"patientId":"1","timestamp":"t","medication":"m")", 400, "bad_json"},  // unclosed
    };
    for (const Bad& b : bad) {
      for (const bool lines : {false, true}) {
        for (const bool gzip : {false, true}) {
          INFO(b.record << (lines ? " in NDJSON" : " in an array") << (gzip ? ", gzip" : ""));
          auto records = usage_bodies("refused", 9);
          records.insert(records.begin() + 5, b.record);
          const std::string body = lines ? ndjson(records) : json_array(records);
          const Response r = roundtrip(c, post_with_headers(gzip ? gzipped(body) : body, vector_headers(lines, gzip)));
          check_error(r, b.status, b.code);
          CHECK(error_index(r) == 5);
        }
      }
    }
    // Structure broken between records: a missing comma, a trailing comma, an empty batch.
    const auto two = usage_bodies("two", 2);
    const Response no_comma = roundtrip(c, post_request("[" + two[0] + " " + two[1] + "]"));
    check_error(no_comma, 400, "bad_json");
    CHECK(error_index(no_comma) == 0);  // the record after which the array breaks
    check_error(roundtrip(c, post_request("[" + two[0] + "," + two[1] + ",]")), 400, "bad_json");
    check_error(roundtrip(c, post_request("[]")), 422, "invalid_usage");
    check_error(roundtrip(c, post_with_headers("\n\n", vector_headers(true, false))), 422, "invalid_usage");
    // After all of that, the connection still serves, and ids were not spent on refusals.
    const auto ok = usage_bodies("after", 3);
    const auto got = post_batch(c, json_array(ok), vector_headers(false, false), ok);
    CHECK(got.begin()->first == 1);
    acked.insert(got.begin(), got.end());
  }
  stop_cleanly(*s.server);
  CHECK(stored_unique(s.dir.path()) == acked);
}

TEST_CASE("--max-batch bounds the records of one request: 413 above it", "[blackbox][batch]") {
  TestServer s({"--max-batch", "50"});
  std::map<uint64_t, std::string> acked;
  {
    Client c(s.port());
    const auto fifty = usage_bodies("fifty", 50);
    const auto got = post_batch(c, json_array(fifty), vector_headers(false, false), fifty);
    acked.insert(got.begin(), got.end());
    const auto fifty_one = usage_bodies("fifty-one", 51);
    for (const bool lines : {false, true}) {
      const std::string body = lines ? ndjson(fifty_one) : json_array(fifty_one);
      const Response r = roundtrip(c, post_with_headers(body, vector_headers(lines, false)));
      check_error(r, 413, "batch_too_large");
      CHECK(!r.header("Connection").has_value());  // the body was read: the connection stays
    }
    const Response after = roundtrip(c, post_request(usage_body("after")));
    REQUIRE(after.status == 201);
    acked.emplace(id_of(after), usage_body("after"));
  }
  stop_cleanly(*s.server);
  CHECK(stored_unique(s.dir.path()) == acked);
}

TEST_CASE("gzip: a bomb is stopped at --max-body, corrupt gzip is 400, other codings 415", "[blackbox][batch]") {
  TestServer s({"--max-body", "64K"});
  std::map<uint64_t, std::string> acked;
  {
    Client c(s.port());
    // 64 KiB + 1 of decompressed bytes in a few hundred compressed ones.
    const auto big = std::string(65 * 1024, ' ') + "[" + usage_body("bomb") + "]";
    const std::string bomb = gzipped(big);
    REQUIRE(bomb.size() < 1024);
    check_error(roundtrip(c, post_with_headers(bomb, vector_headers(false, true))), 413, "body_too_large");
    // Exactly at the bound is fine.
    const std::string fits = usage_body("at-the-bound");
    const std::string padded = std::string(64 * 1024 - fits.size(), ' ') + fits;
    const Response at = roundtrip(c, post_with_headers(gzipped(padded), vector_headers(false, true)));
    REQUIRE(at.status == 201);
    acked.emplace(id_of(at), padded);  // a single usage is stored as received, decompressed
    std::string corrupt = gzipped(json_array(usage_bodies("corrupt", 5)));
    corrupt[corrupt.size() / 2] = static_cast<char>(corrupt[corrupt.size() / 2] ^ 0x55);
    check_error(roundtrip(c, post_with_headers(corrupt, vector_headers(false, true))), 400, "bad_encoding");
    const std::string whole = gzipped(json_array(usage_bodies("truncated", 5)));
    check_error(roundtrip(c, post_with_headers(whole.substr(0, whole.size() - 9), vector_headers(false, true))), 400,
                "bad_encoding");
    check_error(roundtrip(c, post_with_headers(json_array(usage_bodies("not-gzip", 2)), vector_headers(false, true))),
                400, "bad_encoding");
    for (const char* coding : {"br", "deflate", "zstd", "gzip, gzip"}) {
      INFO(coding);
      const Response r =
          roundtrip(c, post_with_headers(usage_body("x"), std::string("Host: x\r\nContent-Encoding: ") + coding + "\r\n"));
      check_error(r, 415, "unsupported_encoding");
      CHECK(r.header("Accept-Encoding") == "gzip");
    }
    // identity and x-gzip are what they say; two gzip members in a row are one body.
    const std::string one = usage_body("identity");
    const Response id = roundtrip(c, post_with_headers(one, "Host: x\r\nContent-Encoding: identity\r\n"));
    REQUIRE(id.status == 201);
    acked.emplace(id_of(id), one);
    const auto pair = usage_bodies("members", 2);
    const Response two = roundtrip(
        c, post_with_headers(gzipped(pair[0] + "\n") + gzipped(pair[1] + "\n"), "Host: x\r\nContent-Encoding: x-gzip\r\n"));
    REQUIRE(two.status == 201);
    const BatchAck a = batch_ack(two);
    REQUIRE(a.count == 2);
    acked.emplace(a.first_id, pair[0]);
    acked.emplace(a.first_id + 1, pair[1]);
  }
  stop_cleanly(*s.server);
  CHECK(stored_unique(s.dir.path()) == acked);
}
