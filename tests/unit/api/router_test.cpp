// api/router: exact paths map to their route (absolute-form by its path), the query string is
// ignored, anything else is "other" (404).
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

TEST_CASE("absolute-form targets route by their path", "[api]") {
  CHECK(route_of("http://localhost:3000/api/usages") == Route::usages);
  CHECK(route_of("http://example.com/healthz?x=1") == Route::healthz);
  CHECK(route_of("https://h/metrics") == Route::metrics);
  CHECK(route_of("http://example.com") == Route::other);
  CHECK(route_of("http://example.com/api/usages/") == Route::other);
  CHECK(route_of("ftp://example.com/api/usages") == Route::other);
}

TEST_CASE("near misses are not routes", "[api]") {
  for (const char* t : {"", "/", "*", "/api/usages/", "/api/usages/1", "/api/usage", "/API/usages",
                        "/api//usages", "//api/usages", "/healthz/", "/metric", "/metricsx",
                        "api/usages", "/api/usages#x", "/?/api/usages"})
    CHECK(route_of(t) == Route::other);
}
