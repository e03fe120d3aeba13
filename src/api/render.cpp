// Rendering of ready entries into HTTP responses.
#include "busyring/api/render.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "busyring/api/errors.h"
#include "busyring/api/status_page.h"
#include "busyring/base/assert.h"
#include "busyring/base/clock.h"
#include "busyring/metrics/exposition.h"

namespace busyring::api {
namespace {

bool storage_healthy(const RenderContext& ctx) noexcept {
  for (size_t i = 0; i < ctx.shard_count; ++i)
    if (metrics::read(ctx.shards[i]->storage_healthy) == 0) return false;
  return true;
}

ids::SourceStats id_source_stats(const RenderContext& ctx) noexcept {
  return ctx.id_source != nullptr ? ctx.id_source->stats() : ids::SourceStats{};
}

// /healthz: 503 when a shard's log takes no writes or no id can be issued (a load balancer
// then sends the traffic elsewhere); 200 otherwise, saying so when the id source is degraded.
struct Health {
  bool ok;
  const char* reason;  // static text, or nullptr
};

Health health(const RenderContext& ctx) noexcept {
  if (!storage_healthy(ctx)) return {false, "a shard's log cannot take writes (see the server log)"};
  if (ctx.log_size != nullptr && ctx.log_size->full())
    return {false, "the log reached --max-log-size: exported segments must be retired (busyring-log retire)"};
  const ids::SourceStats ids = id_source_stats(ctx);
  if (!ids.serving()) return {false, ids.problem};
  return {true, ids.problem};
}

// {"status":"...","reason":"..."}; reason texts carry no characters that need escaping.
size_t health_body(char* out, size_t cap, const Health& h) noexcept {
  const int n = h.reason == nullptr
                    ? std::snprintf(out, cap, "{\"status\":\"ok\"}")
                    : std::snprintf(out, cap, "{\"status\":\"%s\",\"reason\":\"%s\"}",
                                    h.ok ? "degraded" : "unavailable", h.reason);
  return n < 0 ? 0 : std::min(cap - 1, static_cast<size_t>(n));
}

// A batch's error names the record at fault: the table's body with ,"index":N before its '}'.
size_t with_index(char* out, size_t cap, std::string_view body, uint32_t index) noexcept {
  BR_ASSERT(!body.empty() && body.back() == '}' && body.size() + 32 <= cap);
  std::memcpy(out, body.data(), body.size() - 1);
  size_t n = body.size() - 1;
  std::memcpy(out + n, ",\"index\":", 9);
  n += 9;
  n += http::format_u64(out + n, index);
  out[n++] = '}';
  return n;
}

// The /metrics page, rendered into ctx.scratch; its length.
size_t metrics_page(const RenderContext& ctx) noexcept {
  BR_ASSERT(ctx.scratch != nullptr);
  const ids::SourceStats ids = id_source_stats(ctx);
  metrics::IdSourceGauges gauges{ids.up, ids.refused, ids.reserve_ids, ids.calls, ids.errors};
  metrics::LogGauges log;
  if (ctx.log_size != nullptr) log = {ctx.log_size->live_bytes(), ctx.log_size->max_bytes()};
  if (ctx.export_lag != nullptr) {
    log.export_lag_known = true;
    log.export_lag_ns = ctx.export_lag->lag_ns(base::wall_ns());
  }
  return metrics::render_metrics_page(ctx.shards, ctx.shard_count, ctx.scratch, ctx.scratch_bytes,
                                      error_reason_names(), static_cast<size_t>(ErrorId::count),
                                      ids.shared ? &gauges : nullptr, ctx.log_size != nullptr ? &log : nullptr);
}

}  // namespace

uint16_t rendered_status(const http::Pending& p, const RenderContext& ctx) noexcept {
  if (p.kind == http::PendingKind::health) return health(ctx).ok ? 200 : 503;
  return p.status;
}

size_t render(const http::Pending& p, char* out, size_t cap, const RenderContext& ctx) noexcept {
  http::Response r;
  r.keep_alive = p.keep_alive;
  r.http10 = p.http10;
  r.status = p.status;
  r.omit_body = p.head;
  char body[256];
  switch (p.kind) {
    case http::PendingKind::interim_continue:
      if (cap < http::kContinue.size()) return 0;
      std::memcpy(out, http::kContinue.data(), http::kContinue.size());
      return http::kContinue.size();
    case http::PendingKind::created: {
      size_t n = 0;
      std::memcpy(body, "{\"id\":", 6);
      n = 6 + http::format_u64(body + 6, p.value);
      body[n++] = '}';
      r.body = {body, n};
      break;
    }
    case http::PendingKind::created_batch: {
      size_t n = 0;
      std::memcpy(body, "{\"first_id\":", 12);
      n = 12 + http::format_u64(body + 12, p.value);
      std::memcpy(body + n, ",\"count\":", 9);
      n += 9;
      n += http::format_u64(body + n, p.count);
      body[n++] = '}';
      r.body = {body, n};
      break;
    }
    case http::PendingKind::error: {
      const ErrorInfo& e = error_info(static_cast<ErrorId>(p.detail));
      r.body = e.body;
      r.extra_headers = e.headers;
      if (p.count > 0) r.body = {body, with_index(body, sizeof body, e.body, p.count - 1)};
      break;
    }
    case http::PendingKind::health: {
      const Health h = health(ctx);
      r.body = {body, health_body(body, sizeof body, h)};
      if (!h.ok) {
        r.status = 503;
        r.extra_headers = "Retry-After: 1\r\n";
      }
      break;
    }
    case http::PendingKind::metrics:
      r.type = http::BodyType::text;
      r.body = {ctx.scratch, metrics_page(ctx)};
      break;
    case http::PendingKind::status_page:
      r.type = http::BodyType::html;
      r.body = status_page_html();
      r.extra_headers = kStatusPageHeaders;
      break;
  }
  return http::write_response(out, cap, r, *ctx.date);
}

}  // namespace busyring::api
