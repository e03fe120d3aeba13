// Request decisions: routing, method and framing checks at the head, validation and the log
// append at completion.
#include "busyring/api/handler.h"

#include "busyring/api/router.h"

namespace busyring::api {

http::Pending Handler::error_pending(ErrorId id) noexcept {
  const ErrorInfo& e = error_info(id);
  http::Pending p;
  p.status = e.status;
  p.state = http::PendingState::ready;
  p.kind = http::PendingKind::error;
  p.detail = static_cast<uint8_t>(id);
  p.keep_alive = !e.close;
  return p;
}

Outcome Handler::ids_unavailable(const HeadVerdict& verdict) noexcept {
  Outcome out;
  out.pending = error_pending(ErrorId::id_source_unavailable);
  out.pending.route = static_cast<uint8_t>(verdict.route);
  return out;
}

HeadVerdict Handler::on_head(const http::RequestHead& head) const noexcept {
  HeadVerdict v;
  v.route = route_of(head.target);
  switch (v.route) {
    case metrics::Route::usages:
      if (head.method != http::Method::post) v.reject = ErrorId::method_not_allowed_post;
      else if (head.expect_unknown) v.reject = ErrorId::expectation_failed;
      else if (!head.has_length) v.reject = ErrorId::length_required;
      else if (head.content_type == http::ContentType::other) v.reject = ErrorId::unsupported_media_type;
      break;
    case metrics::Route::healthz:
    case metrics::Route::metrics:
    case metrics::Route::status:
      if (head.method != http::Method::get && head.method != http::Method::head)
        v.reject = ErrorId::method_not_allowed_get;
      break;
    case metrics::Route::other:
    case metrics::Route::count:
      v.reject = ErrorId::not_found;
      break;
  }
  if (v.reject) {
    // With Expect: 100-continue the client may or may not send the body after our final
    // answer, so framing is unknown: answer now and close.
    v.reject_now = error_info(*v.reject).close || head.expect_continue;
  } else {
    v.send_continue = head.expect_continue;
  }
  return v;
}

Outcome Handler::on_request(const HeadVerdict& verdict, const http::RequestHead& head,
                            std::string_view body, uint64_t arrival_ns) noexcept {
  (void)head;
  Outcome out;
  if (verdict.reject) {
    out.pending = error_pending(*verdict.reject);
    out.pending.route = static_cast<uint8_t>(verdict.route);
    return out;
  }
  if (verdict.route == metrics::Route::healthz || verdict.route == metrics::Route::metrics ||
      verdict.route == metrics::Route::status) {
    out.pending.state = http::PendingState::ready;
    out.pending.kind = verdict.route == metrics::Route::healthz   ? http::PendingKind::health
                       : verdict.route == metrics::Route::metrics ? http::PendingKind::metrics
                                                                  : http::PendingKind::status_page;
    out.pending.status = 200;
    out.pending.route = static_cast<uint8_t>(verdict.route);
    return out;
  }
  if (const auto error = validator_.validate(body.data(), body.size())) {
    out.pending = error_pending(*error);
    out.pending.route = static_cast<uint8_t>(verdict.route);
    return out;
  }
  const uint64_t id = ids_.next(arrival_ns);
  if (id == 0) {
    if (ids_.ids_expected_soon()) {
      // The reserve ran dry under a burst while the shared counter answers: a refill is a
      // Redis round trip away, so wait for it like for a busy log rather than fail.
      out.retry = true;
      out.waiting_for_ids = true;
      return out;
    }
    return ids_unavailable(verdict);
  }
  uint64_t batch = 0;
  const auto st = log_.append(id, arrival_ns, body.data(), static_cast<uint32_t>(body.size()), batch);
  if (st == storage::AppendStatus::busy) {
    // A momentary stall of the disk: the caller holds the request and reads no further from
    // that connection (backpressure) rather than answering 503.
    ids_.unissue(id);
    out.retry = true;
    return out;
  }
  if (st != storage::AppendStatus::ok) {
    ids_.unissue(id);
    out.pending = error_pending(ErrorId::storage_unavailable);
    out.pending.route = static_cast<uint8_t>(verdict.route);
    return out;
  }
  metrics::bump(metrics_.ids_issued);
  out.pending.kind = http::PendingKind::created;
  out.pending.status = 201;
  out.pending.value = id;
  out.pending.route = static_cast<uint8_t>(metrics::Route::usages);
  if (ack_at_once_) {
    out.pending.state = http::PendingState::ready;
  } else {
    out.pending.state = http::PendingState::waiting;
    out.wait_for_batch = true;
    out.batch = batch;
  }
  return out;
}

}  // namespace busyring::api
