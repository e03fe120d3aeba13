// api/errors and api/render: every ErrorId renders a JSON object with string "error" and
// "message" (checked with simdjson), the right status and extra headers; ready entries render
// into complete HTTP responses.
#include "busyring/api/errors.h"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <set>
#include <string>

#include "busyring/api/handler.h"
#include "busyring/api/render.h"

using namespace busyring;
using api::ErrorId;

TEST_CASE("every error renders valid JSON with an error code and a message", "[api]") {
  simdjson::dom::parser parser;
  std::set<uint16_t> statuses;
  for (size_t i = 0; i < static_cast<size_t>(ErrorId::count); ++i) {
    const api::ErrorInfo& e = api::error_info(static_cast<ErrorId>(i));
    INFO("error " << i << ": " << e.body);
    simdjson::padded_string json(e.body.data(), e.body.size());
    simdjson::dom::object obj;
    REQUIRE(parser.parse(json).get(obj) == simdjson::SUCCESS);
    std::string_view code, message;
    REQUIRE(obj["error"].get(code) == simdjson::SUCCESS);
    REQUIRE(obj["message"].get(message) == simdjson::SUCCESS);
    CHECK(obj.size() == 2);
    CHECK_FALSE(code.empty());
    CHECK(message.size() > 5);
    CHECK(e.status >= 400);
    CHECK(e.status <= 505);
    CHECK(std::string(http::reason_phrase(e.status)) != "Unknown");
    if (!e.headers.empty()) CHECK(e.headers.substr(e.headers.size() - 2) == "\r\n");
    statuses.insert(e.status);
    // Every status answered is counted in busyring_requests_total (status_index knows it).
    CHECK(metrics::status_index(e.status) < metrics::kStatusCount);
  }
  CHECK(statuses == std::set<uint16_t>{400, 401, 404, 405, 408, 411, 413, 414, 415, 417, 422, 431, 501, 503, 505});
}

TEST_CASE("error statuses, headers and close flags follow the contract", "[api]") {
  CHECK(api::error_info(ErrorId::malformed_http).status == 400);
  CHECK(api::error_info(ErrorId::malformed_http).close);
  CHECK(api::error_info(ErrorId::bad_json).status == 400);
  CHECK_FALSE(api::error_info(ErrorId::bad_json).close);
  CHECK(api::error_info(ErrorId::not_object).status == 422);
  CHECK(api::error_info(ErrorId::bad_medication).status == 422);
  CHECK(api::error_info(ErrorId::not_found).status == 404);
  CHECK(api::error_info(ErrorId::not_implemented).status == 501);  // issue 18
  // Bearer tokens (issue 18, RFC 6750 3): the challenge, with the error code once a token was given.
  CHECK(api::error_info(ErrorId::unauthorized).status == 401);
  CHECK(api::error_info(ErrorId::unauthorized).headers == "WWW-Authenticate: Bearer\r\n");
  CHECK(api::error_info(ErrorId::invalid_token).status == 401);
  CHECK(api::error_info(ErrorId::invalid_token).headers == "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
  CHECK(api::error_info(ErrorId::invalid_credentials).status == 400);
  CHECK(api::error_info(ErrorId::invalid_credentials).headers ==
        "WWW-Authenticate: Bearer error=\"invalid_request\"\r\n");
  CHECK_FALSE(api::error_info(ErrorId::unauthorized).close);
  CHECK_FALSE(api::error_info(ErrorId::invalid_token).close);
  CHECK_FALSE(api::error_info(ErrorId::invalid_credentials).close);
  CHECK_FALSE(api::error_info(ErrorId::not_implemented).close);
  CHECK(api::error_info(ErrorId::method_not_allowed).headers == "Allow: POST\r\n");
  CHECK(api::error_info(ErrorId::method_not_allowed_get).headers == "Allow: GET, HEAD\r\n");
  CHECK(api::error_info(ErrorId::length_required).status == 411);
  CHECK(api::error_info(ErrorId::body_too_large).status == 413);
  CHECK(api::error_info(ErrorId::body_too_large).close);
  CHECK(api::error_info(ErrorId::target_too_long).status == 414);
  CHECK(api::error_info(ErrorId::unsupported_media_type).status == 415);
  CHECK(api::error_info(ErrorId::headers_too_large).status == 431);
  CHECK(api::error_info(ErrorId::storage_unavailable).status == 503);
  CHECK(api::error_info(ErrorId::storage_unavailable).headers == "Retry-After: 1\r\n");
  CHECK(api::error_info(ErrorId::id_source_unavailable).status == 503);
  CHECK(api::error_info(ErrorId::id_source_unavailable).headers == "Retry-After: 1\r\n");
  CHECK(api::error_info(ErrorId::http_version_not_supported).status == 505);
  CHECK(api::error_info(ErrorId::log_full).status == 503);
  CHECK(api::error_info(ErrorId::log_full).headers == "Retry-After: 10\r\n");
}

TEST_CASE("each rejection label is its enumerator's name, unique, and only 503s say Retry-After", "[api]") {
  const char* const* names = api::error_reason_names();
  CHECK(std::string(names[static_cast<size_t>(ErrorId::malformed_http)]) == "malformed_http");
  CHECK(std::string(names[static_cast<size_t>(ErrorId::method_not_allowed)]) == "method_not_allowed");
  CHECK(std::string(names[static_cast<size_t>(ErrorId::method_not_allowed_get)]) == "method_not_allowed_get");
  CHECK(std::string(names[static_cast<size_t>(ErrorId::headers_too_large)]) == "headers_too_large");
  CHECK(std::string(names[static_cast<size_t>(ErrorId::storage_unavailable)]) == "storage_unavailable");
  CHECK(std::string(names[static_cast<size_t>(ErrorId::http_version_not_supported)]) == "http_version_not_supported");
  std::set<std::string> seen;
  for (size_t i = 0; i < static_cast<size_t>(ErrorId::count); ++i) {
    const std::string name = names[i];
    INFO("reason " << i << ": " << name);
    CHECK(seen.insert(name).second);
    CHECK(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
    const api::ErrorInfo& e = api::error_info(static_cast<ErrorId>(i));
    // A full log waits for the next export and retire (a minute at most): it asks for 10 s.
    const std::string_view retry = i == static_cast<size_t>(ErrorId::log_full) ? "Retry-After: 10\r\n" : "Retry-After: 1\r\n";
    CHECK((e.status == 503) == (e.headers == retry));
  }
}

namespace {

struct Ctx {
  Ctx() {
    date.update(0);
    shards[0] = &a;
    shards[1] = &b;
    ctx.shards = shards;
    ctx.shard_count = 2;
    ctx.scratch = scratch;
    ctx.scratch_bytes = sizeof scratch;
    ctx.date = &date;
  }
  std::string render(const http::Pending& p) {
    const size_t n = api::render(p, out, sizeof out, ctx);
    return std::string(out, n);
  }
  metrics::ShardMetrics a, b;
  const metrics::ShardMetrics* shards[2];
  char scratch[32768];
  char out[40000];
  http::DateLine date;
  api::RenderContext ctx;
};

std::string body_of(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

}  // namespace

TEST_CASE("a created entry renders 201 with the id as JSON", "[api]") {
  Ctx c;
  http::Pending p;
  p.kind = http::PendingKind::created;
  p.status = 201;
  p.value = 18446744073709551615ull;
  const std::string r = c.render(p);
  CHECK(r.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
  CHECK(body_of(r) == "{\"id\":18446744073709551615}");
  CHECK(r.find("Content-Length: 27\r\n") != std::string::npos);
}

TEST_CASE("an error entry renders its status, headers and body", "[api]") {
  Ctx c;
  http::Pending p = api::Handler::error_pending(ErrorId::method_not_allowed);
  const std::string r = c.render(p);
  CHECK(r.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
  CHECK(r.find("Allow: POST\r\n") != std::string::npos);
  CHECK(body_of(r) == api::error_info(ErrorId::method_not_allowed).body);
  p = api::Handler::error_pending(ErrorId::malformed_http);
  CHECK(c.render(p).find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("health renders 200 while every shard's storage is healthy, else 503", "[api]") {
  Ctx c;
  http::Pending p;
  p.kind = http::PendingKind::health;
  p.status = 200;
  CHECK(api::rendered_status(p, c.ctx) == 200);
  CHECK(body_of(c.render(p)) == "{\"status\":\"ok\"}");
  p.head = true;  // HEAD: the same head, no body
  const std::string head_only = c.render(p);
  CHECK(head_only.find("Content-Length: 15\r\n") != std::string::npos);
  CHECK(body_of(head_only).empty());
  p.head = false;
  c.b.storage_healthy = 0;
  CHECK(api::rendered_status(p, c.ctx) == 503);
  const std::string r = c.render(p);
  CHECK(r.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(r.find("Retry-After: 1\r\n") != std::string::npos);
}

TEST_CASE("100 Continue and metrics entries render as such", "[api]") {
  Ctx c;
  http::Pending p;
  p.kind = http::PendingKind::interim_continue;
  CHECK(c.render(p) == "HTTP/1.1 100 Continue\r\n\r\n");
  p.kind = http::PendingKind::metrics;
  p.status = 200;
  metrics::bump(c.a.records_written, 3);
  metrics::bump(c.b.records_written, 4);
  const std::string r = c.render(p);
  CHECK(r.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
  CHECK(body_of(r).find("\nbusyring_records_written_total 7\n") != std::string::npos);
}
