// api/router: exact paths map to their route, for origin-form and absolute-form targets (the
// parser has checked the form), the query string is ignored, anything else is "other" (404).
#include "busyring/api/router.h"

#include <catch2/catch.hpp>

using busyring::api::route_of;
using busyring::metrics::Route;

TEST_CASE("exact paths map to their routes, ignoring the query string", "[api]") {
  CHECK(route_of("/api/usages") == Route::usages);
  CHECK(route_of("/api/usages?debug=1") == Route::usages);
  CHECK(route_of("/api/usages?") == Route::usages);
  CHECK(route_of("/healthz") == Route::healthz);
  CHECK(route_of("/healthz?probe=k8s") == Route::healthz);
  CHECK(route_of("/metrics") == Route::metrics);
  CHECK(route_of("/metrics?name[]=x") == Route::metrics);
}

TEST_CASE("absolute-form targets route on their path (issue 18, RFC 9112 3.2.2)", "[api]") {
  CHECK(route_of("http://a/api/usages") == Route::usages);
  CHECK(route_of("HTTPS://a.example:8443/api/usages?x=1") == Route::usages);
  CHECK(route_of("http://[::1]:3000/healthz") == Route::healthz);
  CHECK(route_of("http://a/metrics") == Route::metrics);
  for (const char* t : {"http://a", "http://a?/api/usages", "http://a/api/usages/", "http://a//api/usages",
                        "ftp://a/api/usages", "http:/api/usages", "a/api/usages"})
    CHECK(route_of(t) == Route::other);
}

TEST_CASE("near misses are not routes", "[api]") {
  for (const char* t : {"", "/", "*", "/api/usages/", "/api/usages/1", "/api/usage", "/API/usages",
                        "/api//usages", "//api/usages", "/healthz/", "/metric", "/metricsx",
                        "api/usages", "/api/usages#x", "/?/api/usages"})
    CHECK(route_of(t) == Route::other);
}

TEST_CASE("/status is a route, answered where the operator's endpoints are served", "[api]") {
  using busyring::api::Surface;
  CHECK(route_of("/status") == Route::status);
  CHECK(route_of("/status?refresh=1") == Route::status);
  CHECK(route_of("/status/") == Route::other);
  // Today the main listener serves both surfaces; an admin listener would take the operator's
  // endpoints, and the main one would then answer them 404.
  CHECK(busyring::api::kMainSurface == Surface::both);
  CHECK(route_of("/metrics", Surface::api) == Route::other);
  CHECK(route_of("/status", Surface::api) == Route::other);
  CHECK(route_of("/api/usages", Surface::api) == Route::usages);
  CHECK(route_of("/healthz", Surface::api) == Route::healthz);
  CHECK(route_of("/metrics", Surface::admin) == Route::metrics);
  CHECK(route_of("/status", Surface::admin) == Route::status);
  CHECK(route_of("/api/usages", Surface::admin) == Route::other);
  CHECK(route_of("/healthz", Surface::admin) == Route::other);
}
