// api/handler: head verdicts (route, 405/411/404/417, 415 only with --strict-content-type,
// 100-continue, answer-now-and-close)
// and complete requests becoming a record under a fresh id, an error, or a 503 that gives the
// id back. The log writer is opened on a temp dir; no ring is needed to append.
#include "busyring/api/handler.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "../storage/fake_sink.h"
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
  explicit Api(bool ack_at_once = false, uint32_t buffer_count = 4, bool strict_content_type = false,
               ids::BlockSource* from = nullptr)
      : source(1),
        ids(from != nullptr ? *from : source, 32, {}),
        handler(ids, log, metrics, ack_at_once, strict_content_type) {
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
  // A POST of body to target, complete: the handler's one decision. The body stays in
  // `padded` and the request in `req`, for retries.
  api::Decision request(const std::string& body, const char* target = "/api/usages", bool keep_alive = true) {
    padded.assign(body.size() + simdjson::SIMDJSON_PADDING, ' ');
    std::memcpy(padded.data(), body.data(), body.size());
    const RequestHead h = head(Method::post, target);
    req = handler.begin(h, kStart);
    return handler.on_request(req, std::string_view(padded.data(), body.size()), keep_alive, 1234);
  }
  api::Decision retry(uint64_t now_ns) {
    return handler.retry(req, std::string_view(padded.data(), padded.size() - simdjson::SIMDJSON_PADDING), 1234,
                         now_ns);
  }

  static constexpr uint64_t kStart = 777;
  std::vector<char> padded;
  api::Request req;
  test::FakeSink sink;  // the log's SQEs, completed by hand (no ring)
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
      // The body decides by default (issue 14: ab and loadtest post text/plain, curl -d a form).
      {"POST text/plain", head(Method::post, "/api/usages", true, ContentType::other), metrics::Route::usages,
       std::nullopt},
      {"unknown path", head(Method::post, "/api/usage"), metrics::Route::other, ErrorId::not_found},
      {"GET healthz", head(Method::get, "/healthz", false), metrics::Route::healthz, std::nullopt},
      {"POST healthz", head(Method::post, "/healthz"), metrics::Route::healthz, ErrorId::method_not_allowed_get},
      {"HEAD healthz", head(Method::head, "/healthz", false), metrics::Route::healthz, std::nullopt},
      {"GET metrics", head(Method::get, "/metrics?x", false), metrics::Route::metrics, std::nullopt},
      {"HEAD usages", head(Method::head, "/api/usages", false), metrics::Route::usages,
       ErrorId::method_not_allowed_post},
      {"DELETE metrics", head(Method::other, "/metrics", false), metrics::Route::metrics,
       ErrorId::method_not_allowed_get},
      // issue 18: an unknown method is 501 on any path, keeping the connection.
      {"QUERY usages", head(Method::unknown, "/api/usages"), metrics::Route::usages, ErrorId::not_implemented},
      {"FOO unknown path", head(Method::unknown, "/nowhere", false), metrics::Route::other, ErrorId::not_implemented},
      {"absolute-form POST", head(Method::post, "http://a/api/usages"), metrics::Route::usages, std::nullopt},
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

TEST_CASE("--strict-content-type refuses a declared non-JSON type and nothing else", "[api]") {
  Api a(false, 4, true);
  const struct {
    const char* name;
    ContentType type;
    bool refused;
  } rows[] = {{"text/plain", ContentType::other, true},
              {"application/json", ContentType::json, false},
              {"no Content-Type", ContentType::none, false}};
  for (const auto& r : rows) {
    INFO(r.name);
    const api::HeadVerdict v = a.handler.on_head(head(Method::post, "/api/usages", true, r.type));
    CHECK(v.reject.has_value() == r.refused);
    if (r.refused) CHECK(static_cast<int>(*v.reject) == static_cast<int>(ErrorId::unsupported_media_type));
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
  const api::Decision d = a.request(kValid);
  CHECK(d.next == api::Next::answer_after_write);
  CHECK(d.batch == 0);
  CHECK(d.pending.kind == http::PendingKind::created);
  CHECK(d.pending.status == 201);
  CHECK(d.pending.value == 1);
  CHECK(d.pending.state == http::PendingState::waiting);
  CHECK(d.pending.route == static_cast<uint8_t>(metrics::Route::usages));
  CHECK(metrics::read(a.metrics.ids_issued) == 1);
  CHECK(a.request(kValid).pending.value == 2);
}

TEST_CASE("with --ack=memory the 201 is ready at once", "[api]") {
  Api a(true);
  const api::Decision d = a.request(kValid);
  CHECK(d.next == api::Next::answer);
  CHECK(d.pending.status == 201);
  CHECK(d.pending.state == http::PendingState::ready);
}

TEST_CASE("an invalid usage is an error and uses no id", "[api]") {
  Api a;
  api::Decision d = a.request("{not json");
  CHECK(d.next == api::Next::answer);
  CHECK(d.pending.kind == http::PendingKind::error);
  CHECK(d.pending.status == 400);
  CHECK(d.pending.detail == static_cast<uint8_t>(ErrorId::bad_json));
  CHECK(d.pending.state == http::PendingState::ready);
  CHECK(d.pending.keep_alive);  // the framing is intact
  d = a.request(R"({"patientId":1.5,"timestamp":"t","medication":"m"})");
  CHECK(d.pending.status == 422);
  CHECK(d.pending.detail == static_cast<uint8_t>(ErrorId::bad_patient_id));
  CHECK(metrics::read(a.metrics.ids_issued) == 0);
  CHECK(a.request(kValid).pending.value == 1);
}

TEST_CASE("a rejected head completes as its error; health and metrics as their kinds", "[api]") {
  Api a;
  const api::Decision nf = a.request(kValid, "/nope");
  CHECK(nf.pending.status == 404);
  CHECK(nf.pending.detail == static_cast<uint8_t>(ErrorId::not_found));
  CHECK(nf.pending.route == static_cast<uint8_t>(metrics::Route::other));

  const RequestHead hz = head(Method::get, "/healthz", false);
  api::Request r = a.handler.begin(hz, 0);
  const api::Decision h = a.handler.on_request(r, {}, true, 0);
  CHECK(h.pending.kind == http::PendingKind::health);
  CHECK(h.pending.state == http::PendingState::ready);
  const RequestHead mx = head(Method::get, "/metrics", false);
  r = a.handler.begin(mx, 0);
  CHECK(a.handler.on_request(r, {}, true, 0).pending.kind == http::PendingKind::metrics);
  const RequestHead st = head(Method::get, "/status", false);
  r = a.handler.begin(st, 0);
  const api::Decision page = a.handler.on_request(r, {}, true, 0);
  CHECK(page.pending.kind == http::PendingKind::status_page);
  CHECK(page.pending.status == 200);
  CHECK(page.pending.route == static_cast<uint8_t>(metrics::Route::status));
  const RequestHead post_status = head(Method::post, "/status", false);
  CHECK(a.handler.on_head(post_status).reject == ErrorId::method_not_allowed_get);
  CHECK(metrics::read(a.metrics.ids_issued) == 0);
}

// Issue 16: an answer is built once, whole, by the API: what the shard sends is framed from
// the context captured at the head (first byte, route, version, method) and the keep-alive
// known at the end, never patched afterwards.
TEST_CASE("every answer is framed from the request's context", "[api]") {
  Api a;
  RequestHead h = head(Method::post, "/api/usages");
  h.version_minor = 0;
  a.padded.assign(kValid.size() + simdjson::SIMDJSON_PADDING, ' ');
  std::memcpy(a.padded.data(), kValid.data(), kValid.size());
  api::Request r = a.handler.begin(h, 4242);
  CHECK(r.context.start_ns == 4242);
  CHECK(r.context.route == metrics::Route::usages);
  CHECK(r.context.http10);
  CHECK_FALSE(r.context.head_only);
  const bool keep_alive = GENERATE(true, false);
  const api::Decision d = a.handler.on_request(r, std::string_view(a.padded.data(), kValid.size()), keep_alive, 1);
  CHECK(d.pending.start_ns == 4242);
  CHECK(d.pending.http10);
  CHECK(d.pending.keep_alive == keep_alive);
  CHECK(d.pending.route == static_cast<uint8_t>(metrics::Route::usages));

  // An error that closes the connection closes it whatever the client asked.
  const api::Decision bad = a.request("{}", "/api/usages?x", true);
  CHECK(bad.pending.status == 422);
  CHECK(bad.pending.keep_alive);
  RequestHead big = head(Method::head, "/healthz", false);
  r = a.handler.begin(big, 9);
  CHECK(r.context.head_only);
  CHECK(a.handler.on_request(r, {}, true, 0).pending.head);

  // Answered before the request is complete: the head's refusal, closing.
  RequestHead odd = head(Method::post, "/api/usages");
  odd.expect_unknown = true;
  r = a.handler.begin(odd, 55);
  REQUIRE(r.verdict.reject_now);
  const http::Pending now = Handler::reject_now(r);
  CHECK(now.status == 417);
  CHECK(now.start_ns == 55);
  CHECK_FALSE(now.keep_alive);
  CHECK(now.state == http::PendingState::ready);
  // With no usable head (framing lost, timed out): route other, closing.
  const http::Pending lost = Handler::connection_error(ErrorId::request_timeout, 66);
  CHECK(lost.status == 408);
  CHECK(lost.start_ns == 66);
  CHECK(lost.route == static_cast<uint8_t>(metrics::Route::other));
  CHECK_FALSE(lost.keep_alive);
  const http::Pending cont = Handler::interim_continue();
  CHECK(cont.kind == http::PendingKind::interim_continue);
  CHECK(cont.status == 100);
}

TEST_CASE("a 201 waiting for its write is settled: ready, or a 503 framed as it was", "[api]") {
  Api a;
  api::Decision d = a.request(kValid);
  REQUIRE(d.next == api::Next::answer_after_write);
  http::Pending ok = d.pending;
  Handler::settle(ok, 0);
  CHECK(ok.state == http::PendingState::ready);
  CHECK(ok.status == 201);
  CHECK(ok.value == d.pending.value);

  http::Pending failed = d.pending;
  Handler::settle(failed, -EIO);
  CHECK(failed.state == http::PendingState::ready);
  CHECK(failed.kind == http::PendingKind::error);
  CHECK(failed.status == 503);
  CHECK(failed.detail == static_cast<uint8_t>(ErrorId::storage_unavailable));
  CHECK(failed.start_ns == d.pending.start_ns);
  CHECK(failed.route == d.pending.route);
  CHECK(failed.keep_alive == d.pending.keep_alive);
}

TEST_CASE("a full log asks to hold the request and the id is issued again", "[api]") {
  Api a(false, 2);
  uint64_t last_id = 0;
  api::Decision d;
  for (int i = 0; i < 100000; ++i) {
    d = a.request(kValid);
    if (d.next != api::Next::answer_after_write) break;
    last_id = d.pending.value;
  }
  REQUIRE(d.next == api::Next::hold_for_log);  // backpressure, not a 503: the connection holds the request
  CHECK(last_id > 0);
  CHECK(metrics::read(a.metrics.ids_issued) == last_id);
  // The id the held request took was given back: the next issued is the one after last_id.
  CHECK(a.ids.next(0) == last_id + 1);
}

// Issue 16: a request held because the log is busy used to run the whole JSON validation
// again on every retry (every millisecond while held). Its validated state is kept instead.
TEST_CASE("a held request is not validated again when it is retried", "[api]") {
  Api a(false, 2);
  api::Decision d;
  uint64_t requests = 0;
  for (int i = 0; i < 100000; ++i) {
    d = a.request(kValid);
    ++requests;
    if (d.next != api::Next::answer_after_write) break;
  }
  REQUIRE(d.next == api::Next::hold_for_log);
  CHECK(a.handler.validations() == requests);
  CHECK(a.req.body_valid);
  for (int i = 0; i < 5; ++i) CHECK(a.retry(1).next == api::Next::hold_for_log);
  CHECK(a.handler.validations() == requests);  // five retries, no validation

  // Room in the log again (its buffers written): the retry appends the kept body, unparsed.
  a.log.submit(a.sink, 0);
  uint64_t batches = 0;
  while (!a.sink.queued.empty()) {
    const busyring::test::QueuedSqe q = a.sink.queued.front();
    a.sink.queued.pop_front();
    a.log.on_complete(q.op, q.seq, static_cast<int>(q.sqe.len), 0);  // each write complete, in full
    storage::WriteDone done;
    while (a.log.pop_done(done)) ++batches;
    a.log.submit(a.sink, 0);
  }
  REQUIRE(batches > 0);
  const api::Decision later = a.retry(1);
  CHECK(later.next == api::Next::answer_after_write);
  CHECK(later.pending.status == 201);
  CHECK(later.pending.start_ns == Api::kStart);
  CHECK(a.handler.validations() == requests);
}

// A source whose reserve is empty and being refilled: no ids now, but they are expected.
class DrySource final : public ids::BlockSource {
 public:
  ids::IdRange take(uint32_t) noexcept override { return {}; }
};

TEST_CASE("a request waiting for ids is held, then answered 503 once it has waited too long", "[api]") {
  DrySource dry;
  Api a(false, 4, false, &dry);
  api::Decision d = a.request(kValid);
  CHECK(d.next == api::Next::hold_for_ids);
  CHECK(a.retry(Api::kStart + api::kIdWaitMaxNs).next == api::Next::hold_for_ids);
  d = a.retry(Api::kStart + api::kIdWaitMaxNs + 1);
  CHECK(d.next == api::Next::answer);
  CHECK(d.pending.status == 503);
  CHECK(d.pending.detail == static_cast<uint8_t>(ErrorId::id_source_unavailable));
  CHECK(d.pending.start_ns == Api::kStart);
  CHECK(a.handler.validations() == 1);
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
