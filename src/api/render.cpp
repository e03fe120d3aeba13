// Rendering of ready entries into HTTP responses.
#include "busyring/api/render.h"

#include <cstring>

#include "busyring/api/errors.h"
#include "busyring/base/assert.h"
#include "busyring/metrics/prometheus.h"

namespace busyring::api {
namespace {

bool storage_healthy(const RenderContext& ctx) noexcept {
  for (size_t i = 0; i < ctx.shard_count; ++i)
    if (metrics::read(ctx.shards[i]->storage_healthy) == 0) return false;
  return true;
}

}  // namespace

uint16_t rendered_status(const http::Pending& p, const RenderContext& ctx) noexcept {
  if (p.kind == http::PendingKind::health) return storage_healthy(ctx) ? 200 : 503;
  return p.status;
}

size_t render(const http::Pending& p, char* out, size_t cap, const RenderContext& ctx) noexcept {
  http::Response r;
  r.keep_alive = p.keep_alive;
  r.http10 = p.http10;
  r.status = p.status;
  r.omit_body = p.head;
  char body[40];
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
    case http::PendingKind::error: {
      const ErrorInfo& e = error_info(static_cast<ErrorId>(p.detail));
      r.body = e.body;
      r.extra_headers = e.headers;
      break;
    }
    case http::PendingKind::health:
      if (storage_healthy(ctx)) {
        r.body = "{\"status\":\"ok\"}";
      } else {
        r.status = 503;
        r.body = "{\"status\":\"unavailable\",\"reason\":\"a shard's log cannot take writes (see the server log)\"}";
        r.extra_headers = "Retry-After: 1\r\n";
      }
      break;
    case http::PendingKind::metrics: {
      BR_ASSERT(ctx.scratch != nullptr);
      const size_t n = metrics::render_prometheus(ctx.shards, ctx.shard_count, ctx.scratch, ctx.scratch_bytes,
                                                  error_reason_names(), static_cast<size_t>(ErrorId::count));
      r.type = http::BodyType::text;
      r.body = {ctx.scratch, n};
      break;
    }
  }
  return http::write_response(out, cap, r, *ctx.date);
}

}  // namespace busyring::api
