// Maps a request target (origin-form, or absolute-form: its path) to a route. The query string
// is ignored; paths match exactly.
#pragma once

#include <string_view>

#include "busyring/metrics/shard_metrics.h"

namespace busyring::api {

metrics::Route route_of(std::string_view target) noexcept;

}  // namespace busyring::api
