// Exact path routing over the four endpoints, by surface (see router.h).
#include "busyring/api/router.h"

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
  const size_t q = target.find('?');
  const metrics::Route route = path_route(target.substr(0, q));
  if (route == metrics::Route::other || surface == Surface::both) return route;
  return is_admin_route(route) == (surface == Surface::admin) ? route : metrics::Route::other;
}

}  // namespace busyring::api
