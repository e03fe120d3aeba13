// Hostile and careless clients: a half-close after the request, clients that reset mid-head
// or mid-burst without reading, seeded random request sequences (each answer exactly the one
// the contract gives) and seeded random bytes (only answers the contract gives). The server
// never crashes, keeps serving others, stops with exit status 0, and leaves a log that recovers
// clean.
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "harness.h"

using namespace blackbox;

namespace {

void check_still_serving(uint16_t port) {
  Client c(port);
  CHECK(roundtrip(c, get_request("/healthz")).status == 200);
  CHECK(roundtrip(c, post_request(usage_body("still-serving"))).status == 201);
}

void stop_and_check_log(TestServer& s) {
  const ExitStatus st = s.server->stop();
  INFO(describe(st) << "\n" << s.server->stderr_text());
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  std::set<uint64_t> ids;
  for (const auto& rec : read_records(s.dir.path())) CHECK(ids.insert(rec.id).second);
}

const std::vector<std::string> kRandomLimits = {"--max-body", "4K", "--max-header", "4K"};

// A request and the answer the contract (README's table) gives it.
struct Expected {
  std::string request;
  int status = 0;
  const char* code = "";    // the error code of an error answer
  bool closes = false;      // the server closes the connection after answering it
  std::string stored_body;  // the record a 201 stores
};

std::string chunked_post(const std::string& body) {
  const size_t half = body.size() / 2;
  char sizes[2][32];
  std::snprintf(sizes[0], sizeof sizes[0], "%zx\r\n", half);
  std::snprintf(sizes[1], sizeof sizes[1], "%zx\r\n", body.size() - half);
  return "POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(sizes[0]) + body.substr(0, half) + "\r\n" + sizes[1] + body.substr(half) + "\r\n0\r\n\r\n";
}

Expected expect(std::string request, int status, const char* code = "", bool closes = false,
                std::string stored_body = "") {
  return Expected{std::move(request), status, code, closes, std::move(stored_body)};
}

// One of the requests of README's table under kRandomLimits, tagged `tag` where it stores.
Expected random_request(std::mt19937& rng, const std::string& tag) {
  const std::string body = usage_body(tag);
  std::uniform_int_distribution<int> pick(0, 15);
  switch (pick(rng)) {
    case 0: return expect(post_request(body), 201, "", false, body);
    case 1: return expect(chunked_post(body), 201, "", false, body);
    case 2: return expect(get_request("/healthz"), 200);
    case 3: return expect("GET /healthz HTTP/1.0\r\n\r\n", 200, "", true);  // 1.0 without keep-alive
    case 4: return expect(get_request("/healthz", "Connection: close\r\n"), 200, "", true);
    case 5: return expect(get_request("/nope?x=1"), 404, "not_found");
    case 6: return expect("DELETE /api/usages HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed");
    case 7: return expect("POST /api/usages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n", 411, "length_required");
    case 8: return expect(post_request("{\"patientId\":"), 400, "bad_json");
    case 9: return expect(post_request("[]"), 422, "invalid_usage");
    case 10: return expect(post_request(usage_body(tag + std::string(5000, 'b'))), 413, "body_too_large", true);
    case 11: return expect(post_request(body, "Expect: teapot\r\n"), 417, "expectation_failed", true);
    case 12: return expect(get_request("/healthz", "X-Big: " + std::string(5000, 'h') + "\r\n"), 431, "headers_too_large", true);
    case 13: return expect("GET /healthz HTTP/2.0\r\n\r\n", 505, "http_version_not_supported", true);
    case 14: return expect(get_request("/healthz?" + std::string(3000, 'q')), 414, "target_too_long", true);
    default: return expect("GARBAGE\r\n\r\n", 400, "malformed_http", true);
  }
}

// Sends `bytes` in up to four pieces cut at random points.
void send_in_random_pieces(Client& c, const std::string& bytes, std::mt19937& rng) {
  std::vector<size_t> cuts = {0, bytes.size()};
  std::uniform_int_distribution<size_t> at(0, bytes.size());
  for (int k = 0; k < 3; ++k) cuts.push_back(at(rng));
  std::sort(cuts.begin(), cuts.end());
  for (size_t k = 0; k + 1 < cuts.size(); ++k) {
    // A send may fail once a request that closes the connection was answered: the rest is moot.
    if (cuts[k + 1] > cuts[k]) (void)c.send(std::string_view(bytes).substr(cuts[k], cuts[k + 1] - cuts[k]));
  }
}

// CHECKs that r is an answer of README's table: 100, 200, 201, or an error status with its
// error code. True when that answer closes the connection.
bool check_contract_answer(const Response& r) {
  struct Error {
    int status;
    const char* code;
    bool closes;
  };
  static const Error kErrors[] = {
      {400, "bad_json", false},        {400, "malformed_http", true},           {404, "not_found", false},
      {405, "method_not_allowed", false}, {411, "length_required", false},     {413, "body_too_large", true},
      {414, "target_too_long", true},  {417, "expectation_failed", true},      {422, "invalid_usage", false},
      {431, "headers_too_large", true}, {505, "http_version_not_supported", true},
  };
  if (r.status == 100 || r.status == 200) return r.header("Connection").value_or("") == "close";
  if (r.status == 201) {
    CHECK(id_of(r) > 0);
    return r.header("Connection").value_or("") == "close";
  }
  std::string code;
  CHECK(is_error_body(r.body, &code));
  for (const Error& e : kErrors) {
    if (e.status == r.status && code == e.code) return e.closes;
  }
  FAIL_CHECK("not an answer of the contract: " << r.status << " " << r.body);
  return true;
}

}  // namespace

TEST_CASE("requests followed by a half-close are answered, then the connection closes",
          "[blackbox]") {
  TestServer s;
  Client c(s.port());
  REQUIRE(c.send(post_request(usage_body("half-close")) + get_request("/healthz")));
  c.shutdown_write();
  const auto first = c.read_response();
  INFO("client: " << c.last_error());
  REQUIRE(first.has_value());
  CHECK(first->status == 201);
  const auto second = c.read_response();
  REQUIRE(second.has_value());
  CHECK(second->status == 200);
  CHECK(c.closed_by_peer());
  stop_and_check_log(s);
}

TEST_CASE("clients that reset mid-request or mid-burst leave the server serving", "[blackbox]") {
  TestServer s;
  const std::string burst = [] {
    std::string b;
    for (int i = 0; i < 60; ++i) b += post_request(usage_body("burst-" + std::to_string(i)));
    return b;
  }();
  for (int round = 0; round < 20; ++round) {
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 6; ++i) clients.push_back(std::make_unique<Client>(s.port()));
    REQUIRE(clients[0]->send("POST /api/usages HTTP/1.1\r\nContent-Le"));
    REQUIRE(clients[1]->send(post_request(usage_body("cut")).substr(0, 150)));
    REQUIRE(clients[2]->send(burst));
    REQUIRE(clients[3]->send(burst.substr(0, burst.size() / 2 + 7)));
    REQUIRE(clients[4]->send(post_request(usage_body("then-reset"))));
    REQUIRE(clients[5]->send(
        "POST /api/usages HTTP/1.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
        "Content-Length: 100\r\n\r\n"));
    for (auto& c : clients) c->reset();
  }
  check_still_serving(s.port());
  stop_and_check_log(s);
}

// Seeded random sequences of requests, each with the one answer the contract gives it (README's
// table: status, error code, and whether the connection then closes), sent pipelined in random
// pieces and ended with a half-close: the answers are exactly those of the requests up to the
// first one that closes the connection, in order, and exactly their 201s are on disk.
TEST_CASE("seeded random request sequences get exactly the answers their requests call for", "[blackbox]") {
  TestServer s(kRandomLimits);
  std::mt19937 rng(20161101);
  std::map<uint64_t, std::string> created;
  int tag = 0;
  for (int i = 0; i < 300; ++i) {
    std::uniform_int_distribution<int> count(1, 6);
    std::vector<Expected> sequence;
    for (int k = count(rng); k > 0; --k) sequence.push_back(random_request(rng, "seq-" + std::to_string(tag++)));
    std::string input;
    std::vector<const Expected*> answers;  // up to the first request that closes
    for (const auto& e : sequence) {
      input += e.request;
      if (answers.empty() || !answers.back()->closes) answers.push_back(&e);
    }
    Client c(s.port());
    REQUIRE(c.connected());
    send_in_random_pieces(c, input, rng);
    c.shutdown_write();
    INFO("sequence #" << i << ": " << input);
    for (const Expected* e : answers) {
      const auto r = c.read_response(5'000);
      INFO("expected " << e->status << " " << e->code << "; client: " << c.last_error());
      REQUIRE(r.has_value());
      if (e->code[0] != '\0') {
        check_error(*r, e->status, e->code);
      } else {
        CHECK(r->status == e->status);
      }
      if (e->status == 201) {
        const uint64_t id = id_of(*r);
        CHECK(id > 0);
        CHECK(created.emplace(id, e->stored_body).second);
      }
    }
    // Then nothing more: the server closes (it read the half-close, or a request closed it).
    CHECK(c.closed_by_peer(5'000));
  }
  check_still_serving(s.port());
  const ExitStatus st = s.server->stop();
  REQUIRE(st.exited);
  CHECK(st.code == 0);
  std::map<uint64_t, std::string> stored;
  for (const auto& rec : read_records(s.dir.path()))
    if (rec.body.find("still-serving") == std::string::npos) stored[rec.id] = rec.body;
  CHECK(stored.size() == created.size());
  CHECK(stored == created);
}

// Random bytes have no one right answer, but each answer must be one the contract gives (a
// status of README's table, with its error code), an answer that closes the connection is the
// last one, and every 201 is a record on disk.
TEST_CASE("seeded random bytes never crash the server, and get only answers the contract gives", "[blackbox]") {
  TestServer s(kRandomLimits);
  uint64_t created = 0;
  std::mt19937 rng(1478009511);
  const std::vector<std::string> pieces = {
      "POST /api/usages HTTP/1.1\r\n", "GET /healthz HTTP/1.1\r\n", "Content-Length: 12\r\n",
      "Content-Length: 99999999999999999999\r\n", "Transfer-Encoding: chunked\r\n",
      "Content-Type: application/json\r\n", "Expect: 100-continue\r\n", "Connection: close\r\n", "Host: x\r\n",
      "\r\n", "\r\n\r\n", "5\r\nhello\r\n", "0\r\n\r\n", "ffffffffffffffff\r\n",
      R"({"patientId":"1","timestamp":"t","medication":"m"})", "{\"", "\n", std::string(1, '\0'), "HTTP/1.0", " ",
  };
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> coin(0, 3);
  for (int i = 0; i < 300; ++i) {
    std::string input;
    const int parts = 1 + coin(rng) * 4;
    for (int p = 0; p < parts; ++p) {
      if (coin(rng) == 0) {
        for (int k = 0; k < 8; ++k) input += static_cast<char>(byte(rng));
      } else {
        input += pieces[pick(rng)];
      }
    }
    Client c(s.port());
    REQUIRE(c.connected());
    (void)c.send(input);
    c.shutdown_write();
    // Whatever comes back must be well-formed answers of the contract until the server closes.
    INFO("input #" << i << ": " << input);
    int responses = 0;
    bool closing = false;
    while (const auto r = c.read_response(5'000)) {
      INFO("answer " << r->status << " " << r->body);
      CHECK(!closing);  // nothing after an answer that closes the connection
      CHECK(r->version == "HTTP/1.1");
      closing = check_contract_answer(*r);
      if (r->status == 201) ++created;
      REQUIRE(++responses < 50);
    }
    // The input ended (half-close), so the server ends too: no hang, no unparsable answer.
    const std::string& end = c.last_error();
    CHECK((end.find("closed") != std::string::npos || end.find("reset") != std::string::npos));
  }
  check_still_serving(s.port());
  stop_and_check_log(s);
  CHECK(read_records(s.dir.path()).size() == created + 1);  // and the one still serving
}
