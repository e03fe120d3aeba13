// Request decisions: routing, method and framing checks at the head, validation and the log
// append at completion; every answer framed here from the request's context.
#include "busyring/api/handler.h"

#include "busyring/api/router.h"

namespace busyring::api {
namespace {

// An entry for this request: the frame from its context, the answer still to fill in.
http::Pending framed(const RequestContext& c) noexcept {
  http::Pending p;
  p.start_ns = c.start_ns;
  p.route = static_cast<uint8_t>(c.route);
  p.keep_alive = c.keep_alive;
  p.http10 = c.http10;
  p.head = c.head_only;
  return p;
}

// The error's part of an entry: status, body, and whether the connection closes after it.
void set_error(http::Pending& p, ErrorId id) noexcept {
  const ErrorInfo& e = error_info(id);
  p.status = e.status;
  p.state = http::PendingState::ready;
  p.kind = http::PendingKind::error;
  p.detail = static_cast<uint8_t>(id);
  p.keep_alive = p.keep_alive && !e.close;
}

}  // namespace

http::Pending Handler::error_pending(ErrorId id) noexcept {
  http::Pending p;
  set_error(p, id);
  return p;
}

Decision Handler::answer(const RequestContext& context, ErrorId id) noexcept {
  Decision d;
  d.pending = framed(context);
  set_error(d.pending, id);
  return d;
}

http::Pending Handler::reject_now(const Request& request) noexcept {
  BR_ASSERT(request.verdict.reject && request.verdict.reject_now);
  http::Pending p = framed(request.context);
  p.keep_alive = false;  // the body's framing is unknown: nothing after it can be read
  set_error(p, *request.verdict.reject);
  return p;
}

http::Pending Handler::connection_error(ErrorId id, uint64_t start_ns) noexcept {
  RequestContext context;
  context.start_ns = start_ns;
  context.keep_alive = false;
  http::Pending p = framed(context);
  set_error(p, id);
  return p;
}

http::Pending Handler::interim_continue() noexcept {
  http::Pending p;
  p.kind = http::PendingKind::interim_continue;
  p.state = http::PendingState::ready;
  p.status = 100;
  return p;
}

void Handler::settle(http::Pending& pending, int write_res) noexcept {
  BR_ASSERT(pending.state == http::PendingState::waiting);
  BR_ASSERT(pending.kind == http::PendingKind::created);
  if (write_res != 0) {
    pending.value = 0;
    set_error(pending, ErrorId::storage_unavailable);
  }
  pending.state = http::PendingState::ready;
}

HeadVerdict Handler::on_head(const http::RequestHead& head) const noexcept {
  HeadVerdict v;
  v.route = route_of(head.target);
  switch (v.route) {
    case metrics::Route::usages:
      if (head.method != http::Method::post) v.reject = ErrorId::method_not_allowed_post;
      else if (head.expect_unknown) v.reject = ErrorId::expectation_failed;
      else if (!head.has_length) v.reject = ErrorId::length_required;
      // The seeds' own tools post JSON as text/plain (ab, loadtest) or as a form (curl -d):
      // by default the body decides, and only --strict-content-type refuses the declared type.
      else if (strict_content_type_ && head.content_type == http::ContentType::other)
        v.reject = ErrorId::unsupported_media_type;
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
  // RFC 9110 9.1: a method we do not know is 501 wherever it points (issue 18).
  if (head.method == http::Method::unknown) v.reject = ErrorId::not_implemented;
  if (v.reject) {
    // With Expect: 100-continue the client may or may not send the body after our final
    // answer, so framing is unknown: answer now and close.
    v.reject_now = error_info(*v.reject).close || head.expect_continue;
  } else {
    v.send_continue = head.expect_continue;
  }
  return v;
}

Request Handler::begin(const http::RequestHead& head, uint64_t start_ns) const noexcept {
  Request r;
  r.verdict = on_head(head);
  r.context.start_ns = start_ns;
  r.context.route = r.verdict.route;
  r.context.http10 = head.version_minor == 0;
  r.context.head_only = head.method == http::Method::head;
  return r;
}

Decision Handler::on_request(Request& request, std::string_view body, bool keep_alive,
                             uint64_t arrival_ns) noexcept {
  request.context.keep_alive = keep_alive;
  request.body_valid = false;
  return decide(request, body, arrival_ns);
}

Decision Handler::retry(Request& request, std::string_view body, uint64_t arrival_ns, uint64_t now_ns) noexcept {
  Decision d = decide(request, body, arrival_ns);
  // The source stays up but gives nothing: the request has waited long enough.
  if (d.next == Next::hold_for_ids && now_ns - request.context.start_ns > kIdWaitMaxNs)
    d = answer(request.context, ErrorId::id_source_unavailable);
  return d;
}

Decision Handler::decide(Request& request, std::string_view body, uint64_t arrival_ns) noexcept {
  const RequestContext& context = request.context;
  if (request.verdict.reject) return answer(context, *request.verdict.reject);
  if (context.route == metrics::Route::healthz || context.route == metrics::Route::metrics ||
      context.route == metrics::Route::status) {
    Decision d;
    d.pending = framed(context);
    d.pending.state = http::PendingState::ready;
    d.pending.kind = context.route == metrics::Route::healthz   ? http::PendingKind::health
                     : context.route == metrics::Route::metrics ? http::PendingKind::metrics
                                                                : http::PendingKind::status_page;
    d.pending.status = 200;
    return d;
  }
  if (!request.body_valid) {
    ++validations_;
    if (const auto error = validator_.validate(body.data(), body.size())) return answer(context, *error);
    request.body_valid = true;
  }
  Decision d;
  const uint64_t id = ids_.next(arrival_ns);
  if (id == 0) {
    // The reserve ran dry under a burst while the shared counter answers: a refill is a
    // Redis round trip away, so wait for it like for a busy log rather than fail.
    if (ids_.ids_expected_soon()) d.next = Next::hold_for_ids;
    else d = answer(context, ErrorId::id_source_unavailable);
    return d;
  }
  const auto st = log_.append(id, arrival_ns, body.data(), static_cast<uint32_t>(body.size()), d.batch);
  if (st != storage::AppendStatus::ok) {
    ids_.unissue(id);
    // busy: a momentary stall of the disk; the connection holds the request and reads no
    // further (backpressure) rather than answering 503.
    if (st == storage::AppendStatus::busy) d.next = Next::hold_for_log;
    else d = answer(context, ErrorId::storage_unavailable);
    return d;
  }
  metrics::bump(metrics_.ids_issued);
  d.pending = framed(context);
  d.pending.kind = http::PendingKind::created;
  d.pending.status = 201;
  d.pending.value = id;
  if (ack_at_once_) {
    d.pending.state = http::PendingState::ready;
  } else {
    d.pending.state = http::PendingState::waiting;
    d.next = Next::answer_after_write;
  }
  return d;
}

}  // namespace busyring::api
