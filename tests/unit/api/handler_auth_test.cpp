// api/handler with bearer tokens and an admin listener (issue 18 §3): which routes ask for a
// token and what each refusal is answered with and counted as; the token is checked before
// anything else about the API is said; /healthz stays open; the admin listener serves
// /metrics and /healthz only, and with one the public port has no /metrics.
#include <catch2/catch.hpp>

#include <string>

#include "busyring/api/handler.h"

using namespace busyring;
using api::ErrorId;
using api::Listener;
using http::Credentials;
using http::Method;
using http::RequestHead;

namespace {

const std::string kToken = "handler-token-0123456789";

struct Rig {
  Rig() : source(1), ids(source, 32, {}), handler(ids, log, metrics, false) {
    REQUIRE(tokens.add(kToken));
  }
  api::HeadVerdict verdict(Method m, const char* target, http::Bearer credentials = {},
                           Listener listener = Listener::public_port) {
    RequestHead h;
    h.method = m;
    h.target = target;
    h.has_length = m == Method::post;
    h.content_type = http::ContentType::json;
    h.credentials = credentials;
    return handler.begin(h, 1, listener).verdict;
  }
  uint64_t refusals(metrics::AuthRefusalReason r) const {
    return metrics::read(metrics.auth_refusals[static_cast<size_t>(r)]);
  }
  ids::LocalBlockSource source;
  ids::ShardIds ids;
  storage::LogWriter log;
  metrics::ShardMetrics metrics;
  api::Handler handler;
  api::TokenSet tokens;
};

const http::Bearer kGood{Credentials::bearer, kToken};
const http::Bearer kWrong{Credentials::bearer, "wrong-token-0123456789"};

}  // namespace

TEST_CASE("with tokens, POST /api/usages is refused by reason and counted; the right token passes", "[api][auth]") {
  Rig r;
  r.handler.set_tokens(&r.tokens);
  CHECK(r.verdict(Method::post, "/api/usages").reject == ErrorId::unauthorized);
  CHECK(r.verdict(Method::post, "/api/usages", kWrong).reject == ErrorId::invalid_token);
  CHECK(r.verdict(Method::post, "/api/usages", {Credentials::malformed, {}}).reject == ErrorId::invalid_credentials);
  CHECK(r.verdict(Method::post, "/api/usages", {Credentials::other_scheme, {}}).reject == ErrorId::unauthorized);
  CHECK_FALSE(r.verdict(Method::post, "/api/usages", kGood).reject);
  CHECK(r.refusals(metrics::AuthRefusalReason::missing) == 1);
  CHECK(r.refusals(metrics::AuthRefusalReason::invalid) == 1);
  CHECK(r.refusals(metrics::AuthRefusalReason::malformed) == 2);
  // Before 405: an unauthenticated client learns nothing of the API.
  CHECK(r.verdict(Method::get, "/api/usages").reject == ErrorId::unauthorized);
  CHECK(r.verdict(Method::get, "/api/usages", kGood).reject == ErrorId::method_not_allowed);
  // A refused head is answered without 100 Continue and the body is not wanted.
  RequestHead h;
  h.method = Method::post;
  h.target = "/api/usages";
  h.has_length = true;
  h.expect_continue = true;
  const api::HeadVerdict v = r.handler.on_head(h);
  CHECK(v.reject == ErrorId::unauthorized);
  CHECK_FALSE(v.send_continue);
}

TEST_CASE("with tokens, /healthz stays open and public /metrics asks for the token", "[api][auth]") {
  Rig r;
  r.handler.set_tokens(&r.tokens);
  CHECK_FALSE(r.verdict(Method::get, "/healthz").reject);
  CHECK(r.verdict(Method::get, "/metrics").reject == ErrorId::unauthorized);
  CHECK_FALSE(r.verdict(Method::get, "/metrics", kGood).reject);
  CHECK(r.verdict(Method::get, "/nowhere").reject == ErrorId::not_found);
  CHECK(r.refusals(metrics::AuthRefusalReason::missing) == 1);
}

TEST_CASE("without tokens nothing asks for one", "[api][auth]") {
  Rig r;
  CHECK_FALSE(r.verdict(Method::post, "/api/usages").reject);
  CHECK_FALSE(r.verdict(Method::post, "/api/usages", kWrong).reject);
  CHECK_FALSE(r.verdict(Method::get, "/metrics").reject);
}

TEST_CASE("the admin listener serves /metrics and /healthz with no token, and no API", "[api][admin]") {
  Rig r;
  r.handler.set_tokens(&r.tokens);
  r.handler.set_admin_listener(true);
  CHECK_FALSE(r.verdict(Method::get, "/metrics", {}, Listener::admin).reject);
  CHECK_FALSE(r.verdict(Method::get, "/healthz", {}, Listener::admin).reject);
  CHECK(r.verdict(Method::post, "/api/usages", kGood, Listener::admin).reject == ErrorId::not_found_admin);
  CHECK(r.verdict(Method::get, "/nowhere", {}, Listener::admin).reject == ErrorId::not_found_admin);
  // The public port: no /metrics, whatever the token.
  CHECK(r.verdict(Method::get, "/metrics", kGood).reject == ErrorId::not_found_public);
  CHECK(r.verdict(Method::get, "/metrics").reject == ErrorId::not_found_public);
  CHECK_FALSE(r.verdict(Method::post, "/api/usages", kGood).reject);
  CHECK(r.refusals(metrics::AuthRefusalReason::missing) == 0);
}
