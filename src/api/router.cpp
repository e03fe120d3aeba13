// Exact path routing over the four endpoints, by surface (see router.h), on the path of an
// origin-form or absolute-form target (RFC 9112 3.2.2: "POST http://host/api/usages" is the
// same resource as "/api/usages").
#include "busyring/api/router.h"

#include "busyring/http/host_syntax.h"

namespace busyring::api {

namespace {

metrics::Route path_route(std::string_view path) noexcept {
  if (path == "/api/usages") return metrics::Route::usages;
  if (path == "/healthz") return metrics::Route::healthz;
  if (path == "/metrics") return metrics::Route::metrics;
  if (path == "/status") return metrics::Route::status;
  return metrics::Route::other;
}

}  // namespace

metrics::Route route_of(std::string_view target, Surface surface) noexcept {
  const std::string_view origin = http::origin_part(target);
  const metrics::Route route = path_route(origin.substr(0, origin.find('?')));
  if (route == metrics::Route::other || surface == Surface::both) return route;
  return is_admin_route(route) == (surface == Surface::admin) ? route : metrics::Route::other;
}

}  // namespace busyring::api
