// Turns a ready pipeline entry into response bytes: {"id":N}, an error body, the health
// verdict, or the metrics text. Health and metrics read every shard's counters (relaxed) and
// the id source's state.
#pragma once

#include <cstddef>

#include "busyring/http/pipeline.h"
#include "busyring/ids/block_source.h"
#include "busyring/http/response.h"
#include "busyring/metrics/shard_metrics.h"
#include "busyring/storage/export_lag.h"
#include "busyring/storage/log_size.h"

namespace busyring::api {

struct RenderContext {
  const metrics::ShardMetrics* const* shards = nullptr;
  size_t shard_count = 0;
  char* scratch = nullptr;  // room for the metrics text
  size_t scratch_bytes = 0;
  const http::DateLine* date = nullptr;
  const ids::BlockSource* id_source = nullptr;  // its health joins /healthz and /metrics
  const storage::LogSizeGauge* log_size = nullptr;  // the same for the live log's size
  const storage::ExportLagGauge* export_lag = nullptr;  // --export-checkpoint; null: none
};

// Bytes written into out, or 0 if the response does not fit in cap.
size_t render(const http::Pending& p, char* out, size_t cap, const RenderContext& ctx) noexcept;

// The status a ready entry answers with (health can turn 503 at render time).
uint16_t rendered_status(const http::Pending& p, const RenderContext& ctx) noexcept;

}  // namespace busyring::api
