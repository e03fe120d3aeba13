// Exact path routing over the three endpoints.
#include "busyring/api/router.h"

namespace busyring::api {

metrics::Route route_of(std::string_view target) noexcept {
  // absolute-form (RFC 9112 3.2.2): route on the path after scheme://authority.
  for (const std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (target.substr(0, scheme.size()) == scheme) {
      const size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
      break;
    }
  }
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  if (path == "/api/usages") return metrics::Route::usages;
  if (path == "/healthz") return metrics::Route::healthz;
  if (path == "/metrics") return metrics::Route::metrics;
  return metrics::Route::other;
}

}  // namespace busyring::api
