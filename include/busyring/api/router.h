// Maps a request target (origin-form, or absolute-form: its path) to a route. The query string
// is ignored; paths match exactly.
//
// Two surfaces: the API (/api/usages, /healthz) and the operator's endpoints (/metrics,
// /status). Today one listener serves both (kMainSurface). When an admin listener comes (on
// 127.0.0.1 by default), moving the operator's endpoints there is one change: the main
// listener's surface becomes Surface::api and the admin listener routes with Surface::admin.
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
