// api/router: exact paths map to their route (absolute-form is refused earlier, by the parser), the query string is
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
