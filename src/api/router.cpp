// Exact path routing over the three endpoints.
#include "busyring/api/router.h"

namespace busyring::api {

metrics::Route route_of(std::string_view target) noexcept {
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  if (path == "/api/usages") return metrics::Route::usages;
  if (path == "/healthz") return metrics::Route::healthz;
  if (path == "/metrics") return metrics::Route::metrics;
  return metrics::Route::other;
}

}  // namespace busyring::api
