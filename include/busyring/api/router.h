// Maps a request target (origin-form, or absolute-form: its path) to a route. The query string
// is ignored; paths match exactly.
//
// Two surfaces: the API (/api/usages, /healthz) and the operator's endpoints (/metrics,
// /status). Without --admin-bind the public listener serves both; with it, the handler
// (Handler::route_for) answers the operator's endpoints only on the admin listener, and the
// admin listener serves them and /healthz only.
#pragma once

#include <cstdint>
#include <string_view>

#include "busyring/metrics/shard_metrics.h"

namespace busyring::api {

enum class Surface : uint8_t { api, admin, both };

// What the main (public) listener serves.
inline constexpr Surface kMainSurface = Surface::both;

// True for the operator's endpoints (/metrics, /status).
constexpr bool is_admin_route(metrics::Route route) noexcept {
  return route == metrics::Route::metrics || route == metrics::Route::status;
}

// The route of target on a listener serving `surface`; a route of the other surface is
// Route::other (404), as if it did not exist there.
metrics::Route route_of(std::string_view target, Surface surface = kMainSurface) noexcept;

}  // namespace busyring::api
