// Exact path routing over the three endpoints, on the path of an origin-form or absolute-form
// target (RFC 9112 3.2.2: "POST http://host/api/usages" is the same resource as "/api/usages").
#include "busyring/api/router.h"

#include "busyring/http/host_syntax.h"

namespace busyring::api {

metrics::Route route_of(std::string_view target) noexcept {
  const std::string_view origin = http::origin_part(target);
  const std::string_view path = origin.substr(0, origin.find('?'));
  if (path == "/api/usages") return metrics::Route::usages;
  if (path == "/healthz") return metrics::Route::healthz;
  if (path == "/metrics") return metrics::Route::metrics;
  return metrics::Route::other;
}

}  // namespace busyring::api
