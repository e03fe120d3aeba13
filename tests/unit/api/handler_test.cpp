// api/handler: head verdicts (route, 405/411/415/404/417, 100-continue, answer-now-and-close)
// and complete requests becoming a record under a fresh id, an error, or a 503 that gives the
// id back. The log writer is opened on a temp dir; no ring is needed to append.
#include "busyring/api/handler.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "../support/temp_dir.h"

using namespace busyring;
using api::ErrorId;
using api::Handler;
using http::ContentType;
using http::Method;
using http::RequestHead;

namespace {

RequestHead head(Method m, const char* target, bool has_length = true,
                 ContentType ct = ContentType::json) {
  RequestHead h;
  h.method = m;
  h.target = target;
  h.has_length = has_length;
  h.content_type = ct;
  return h;
}

// A handler over real ids and a real (ring-less) log writer.
struct Api {
  explicit Api(bool ack_at_once = false, uint32_t buffer_count = 4)
      : source(1), ids(source, 32, {}), handler(ids, log, metrics, ack_at_once) {
    storage::WriterOptions o;
    o.dir = tmp.sub("shard-00");
    o.segment_size = 1 << 20;
    o.dsync = false;
    o.max_record_body = 1024;
    o.buffer_bytes = 4096;
    o.buffer_count = buffer_count;
    auto st = log.open(o, storage::AppendPosition{});
    INFO((st.ok() ? std::string() : st.error()));
    REQUIRE(st.ok());
    REQUIRE(handler.init(1024));
  }
  api::Outcome request(const std::string& body, const char* target = "/api/usages") {
    std::vector<char> buf(body.size() + simdjson::SIMDJSON_PADDING, ' ');
    std::memcpy(buf.data(), body.data(), body.size());
    const RequestHead h = head(Method::post, target);
    const api::HeadVerdict v = handler.on_head(h);
    return handler.on_request(v, h, std::string_view(buf.data(), body.size()), 1234);
  }

  test::TempDir tmp;
  ids::LocalBlockSource source;
  ids::ShardIds ids;
  storage::LogWriter log;
  metrics::ShardMetrics metrics;
  Handler handler;
};

const std::string kValid = R"({"patientId":"100","timestamp":"Tue Nov 01 2016","medication":"Albuterol"})";

}  // namespace

TEST_CASE("head verdicts route and refuse by method, framing and media type", "[api]") {
  Api a;
  const Handler& h = a.handler;
  struct Row {
    const char* name;
    RequestHead head;
    metrics::Route route;
    std::optional<ErrorId> reject;
  };
  const Row rows[] = {
      {"valid POST", head(Method::post, "/api/usages"), metrics::Route::usages, std::nullopt},
      {"POST with a query", head(Method::post, "/api/usages?x=1"), metrics::Route::usages, std::nullopt},
      {"POST without Content-Type", head(Method::post, "/api/usages", true, ContentType::none),
       metrics::Route::usages, std::nullopt},
      {"GET usages", head(Method::get, "/api/usages", false), metrics::Route::usages, ErrorId::method_not_allowed_post},
      {"PUT usages", head(Method::other, "/api/usages"), metrics::Route::usages, ErrorId::method_not_allowed_post},
      {"POST without length", head(Method::post, "/api/usages", false), metrics::Route::usages, ErrorId::length_required},
      {"POST text/plain", head(Method::post, "/api/usages", true, ContentType::other), metrics::Route::usages,
       ErrorId::unsupported_media_type},
      {"unknown path", head(Method::post, "/api/usage"), metrics::Route::other, ErrorId::not_found},
      {"GET healthz", head(Method::get, "/healthz", false), metrics::Route::healthz, std::nullopt},
      {"POST healthz", head(Method::post, "/healthz"), metrics::Route::healthz, ErrorId::method_not_allowed_get},
      {"HEAD healthz", head(Method::head, "/healthz", false), metrics::Route::healthz, std::nullopt},
      {"GET metrics", head(Method::get, "/metrics?x", false), metrics::Route::metrics, std::nullopt},
      {"HEAD usages", head(Method::head, "/api/usages", false), metrics::Route::usages,
       ErrorId::method_not_allowed_post},
      {"DELETE metrics", head(Method::other, "/metrics", false), metrics::Route::metrics,
       ErrorId::method_not_allowed_get},
  };
  for (const Row& r : rows) {
    INFO("case: " << r.name);
    const api::HeadVerdict v = h.on_head(r.head);
    CHECK(v.route == r.route);
    CHECK(v.reject.has_value() == r.reject.has_value());
    if (v.reject && r.reject) CHECK(static_cast<int>(*v.reject) == static_cast<int>(*r.reject));
    CHECK_FALSE(v.reject_now);  // none of these lose the framing
    CHECK_FALSE(v.send_continue);
  }
}

TEST_CASE("Expect: 100-continue is honoured only for a body we want", "[api]") {
  Api a;
  RequestHead ok = head(Method::post, "/api/usages");
  ok.expect_continue = true;
  api::HeadVerdict v = a.handler.on_head(ok);
  CHECK_FALSE(v.reject);
  CHECK(v.send_continue);

  RequestHead missing = head(Method::post, "/nope");
  missing.expect_continue = true;
  v = a.handler.on_head(missing);
  CHECK(v.reject == ErrorId::not_found);
  CHECK(v.reject_now);  // the client may or may not send the body: answer now and close
  CHECK_FALSE(v.send_continue);

  RequestHead odd = head(Method::post, "/api/usages");
  odd.expect_unknown = true;
  v = a.handler.on_head(odd);
  CHECK(v.reject == ErrorId::expectation_failed);
  CHECK(v.reject_now);
}

TEST_CASE("a valid usage becomes a record with a fresh id that waits for its batch", "[api]") {
  Api a;
  const api::Outcome o = a.request(kValid);
  CHECK(o.pending.kind == http::PendingKind::created);
  CHECK(o.pending.status == 201);
  CHECK(o.pending.value == 1);
  CHECK(o.pending.state == http::PendingState::waiting);
  CHECK(o.wait_for_batch);
  CHECK(o.batch == 0);
  CHECK(o.pending.route == static_cast<uint8_t>(metrics::Route::usages));
  CHECK(metrics::read(a.metrics.ids_issued) == 1);
  CHECK(a.request(kValid).pending.value == 2);
}

TEST_CASE("with --ack=memory the 201 is ready at once", "[api]") {
  Api a(true);
  const api::Outcome o = a.request(kValid);
  CHECK(o.pending.status == 201);
  CHECK(o.pending.state == http::PendingState::ready);
  CHECK_FALSE(o.wait_for_batch);
}

TEST_CASE("an invalid usage is an error and uses no id", "[api]") {
  Api a;
  api::Outcome o = a.request("{not json");
  CHECK(o.pending.kind == http::PendingKind::error);
  CHECK(o.pending.status == 400);
  CHECK(o.pending.detail == static_cast<uint8_t>(ErrorId::bad_json));
  CHECK(o.pending.state == http::PendingState::ready);
  CHECK(o.pending.keep_alive);  // the framing is intact
  CHECK_FALSE(o.wait_for_batch);
  o = a.request(R"({"patientId":1.5,"timestamp":"t","medication":"m"})");
  CHECK(o.pending.status == 422);
  CHECK(o.pending.detail == static_cast<uint8_t>(ErrorId::bad_patient_id));
  CHECK(metrics::read(a.metrics.ids_issued) == 0);
  CHECK(a.request(kValid).pending.value == 1);
}

TEST_CASE("a rejected head completes as its error; health and metrics as their kinds", "[api]") {
  Api a;
  const api::Outcome nf = a.request(kValid, "/nope");
  CHECK(nf.pending.status == 404);
  CHECK(nf.pending.detail == static_cast<uint8_t>(ErrorId::not_found));
  CHECK(nf.pending.route == static_cast<uint8_t>(metrics::Route::other));

  const RequestHead hz = head(Method::get, "/healthz", false);
  const api::Outcome h = a.handler.on_request(a.handler.on_head(hz), hz, {}, 0);
  CHECK(h.pending.kind == http::PendingKind::health);
  CHECK(h.pending.state == http::PendingState::ready);
  const RequestHead mx = head(Method::get, "/metrics", false);
  CHECK(a.handler.on_request(a.handler.on_head(mx), mx, {}, 0).pending.kind == http::PendingKind::metrics);
  const RequestHead st = head(Method::get, "/status", false);
  const api::Outcome page = a.handler.on_request(a.handler.on_head(st), st, {}, 0);
  CHECK(page.pending.kind == http::PendingKind::status_page);
  CHECK(page.pending.status == 200);
  CHECK(page.pending.route == static_cast<uint8_t>(metrics::Route::status));
  const RequestHead post_status = head(Method::post, "/status", false);
  CHECK(a.handler.on_head(post_status).reject == ErrorId::method_not_allowed_get);
  CHECK(metrics::read(a.metrics.ids_issued) == 0);
}

TEST_CASE("a full log asks to hold the request and the id is issued again", "[api]") {
  Api a(false, 2);
  uint64_t last_id = 0;
  api::Outcome o;
  for (int i = 0; i < 100000; ++i) {
    o = a.request(kValid);
    if (o.retry || o.pending.status != 201) break;
    last_id = o.pending.value;
  }
  REQUIRE(o.retry);  // backpressure, not a 503: the connection holds the request
  CHECK_FALSE(o.wait_for_batch);
  CHECK(last_id > 0);
  CHECK(metrics::read(a.metrics.ids_issued) == last_id);
  // The id the held request took was given back: the next issued is the one after last_id.
  CHECK(a.ids.next(0) == last_id + 1);
}

TEST_CASE("error_pending carries the table's status and close flag", "[api]") {
  for (size_t i = 0; i < static_cast<size_t>(ErrorId::count); ++i) {
    const auto id = static_cast<ErrorId>(i);
    const http::Pending p = Handler::error_pending(id);
    CHECK(p.status == api::error_info(id).status);
    CHECK(p.keep_alive == !api::error_info(id).close);
    CHECK(p.kind == http::PendingKind::error);
    CHECK(p.state == http::PendingState::ready);
    CHECK(p.detail == i);
  }
}
