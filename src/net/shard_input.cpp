// A shard's input side: multishot receive -> workspace (or park and wait) -> parse -> the
// handler's decision. Back-pressure: a full pipeline or a held request keeps the rest of the
// input in the backlog and pauses the receive until it drains.
#include <algorithm>
#include <cstring>

#include "busyring/base/assert.h"
#include "shard.h"

namespace busyring::net {
namespace {

api::ErrorId error_for(http::ParseError e) noexcept {
  switch (e) {
    case http::ParseError::head_too_large: return api::ErrorId::headers_too_large;
    case http::ParseError::target_too_long: return api::ErrorId::target_too_long;
    case http::ParseError::body_too_large: return api::ErrorId::body_too_large;
    case http::ParseError::version: return api::ErrorId::http_version_not_supported;
    case http::ParseError::malformed:
    case http::ParseError::none: break;
  }
  return api::ErrorId::malformed_http;
}

bool holds(api::Next next) noexcept { return next == api::Next::hold_for_log || next == api::Next::hold_for_ids; }

}  // namespace

void Shard::arm_recv(Connection& c) noexcept {
  BR_ASSERT(c.recv == RecvState::off);
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = buf_ring_.group();
  io_uring_sqe_set_data64(s, encode_conn(Op::recv, c.slot, c.gen));
  c.recv = RecvState::armed;
  ++c.in_flight;
}

void Shard::on_recv(Connection& c, const io_uring_cqe* cqe) noexcept {
  const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    BR_ASSERT(c.in_flight > 0 && c.recv_armed());
    c.recv = c.recv == RecvState::pausing ? RecvState::paused : RecvState::off;
    --c.in_flight;
  }
  const int res = cqe->res;
  if (res > 0) {
    BR_ASSERT(cqe->flags & IORING_CQE_F_BUFFER);
    const auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    buf_ring_.lent();
    if (!c.closing() && c.gate != InputGate::stopped && !attach(c)) {
      // No workspace: the buffer is kept until one frees, and nothing more is received.
      scheduler_.park(c, bid, static_cast<uint32_t>(res), now_ns_);
      if (c.recv == RecvState::armed) pause_recv(c);
      else if (c.recv == RecvState::off) c.recv = RecvState::paused;  // a receive already posted parks here too
      timers_.refresh(c, now_ns_);
    } else {
      if (!c.closing()) handle_input(c, buf_ring_.buffer(bid), static_cast<size_t>(res));
      buf_ring_.give_back(bid);
    }
  } else if (res == 0) {
    on_peer_eof(c);
  } else if (res == -ENOBUFS) {
    metrics::bump(setup_.metrics->recv_enobufs);
  } else if (res != -ECANCELED) {
    begin_close(c);  // reset by peer, or another socket error
  }
  // A multishot receive that ended for a reason other than EOF or error is armed again.
  const bool rearm = !more && !c.closing() && c.recv == RecvState::off && res != 0 &&
                     (res > 0 || res == -ENOBUFS || res == -ECANCELED);
  if (rearm && !c.on_rearm_list) {
    c.on_rearm_list = true;
    if (res == -ENOBUFS) nobufs_.push_back(c.slot);  // re-armed once buffers are back
    else rearm_.push_back(c.slot);
  }
  on_conn_op_done(c);
}

// The peer closed its side: answer what was received, then close.
void Shard::on_peer_eof(Connection& c) noexcept {
  if (c.gate == InputGate::parked) {
    c.eof_parked = true;  // after the parked input is parsed (replay_parked)
    return;
  }
  if (c.phase == Phase::half_closed) begin_close(c);
  else stop_connection(c);
}

// True when c has a workspace, maybe just given. A connection that waits its turn has none;
// one whose last request ended the HTTP framing (Upgrade, CONNECT) gets one, and its 400.
bool Shard::attach(Connection& c) noexcept {
  if (c.ws != nullptr) return true;
  if (c.gate == InputGate::parked) return false;
  const ConnectionTable::Attach r = scheduler_.attach(c);
  if (r == ConnectionTable::Attach::none) return false;
  if (r == ConnectionTable::Attach::framing_error) {
    c.request.context.start_ns = now_ns_;
    fail_input(c, api::ErrorId::malformed_http);
  }
  return true;
}

// Bytes for a connection that has a workspace.
void Shard::handle_input(Connection& c, const char* data, size_t len) noexcept {
  if (c.gate == InputGate::stopped) return;  // dropped: after a closing answer, or while stopping
  BR_ASSERT(c.ws != nullptr);
  Workspace& w = *c.ws;
  if (c.backlog_len > 0 || c.gate == InputGate::held) {
    BR_ASSERT(c.gate == InputGate::pipeline_full || c.gate == InputGate::held);
    if (c.backlog_len + len > kBacklogBytes) {
      begin_close(c);  // pipelined far past what we answer without being read: give up
      return;
    }
    std::memcpy(w.backlog + c.backlog_len, data, len);
    c.backlog_len += static_cast<uint32_t>(len);
    w.backlog_peak = std::max(w.backlog_peak, c.backlog_len);
    pause_recv(c);
    return;
  }
  const size_t used = parse_input(c, data, len);
  if (used < len && c.gate != InputGate::stopped) {
    // The pipeline is full or a request is held: keep the rest for later.
    BR_ASSERT(len - used <= kBacklogBytes);
    if (c.gate == InputGate::open) c.gate = InputGate::pipeline_full;
    std::memcpy(w.backlog, data + used, len - used);
    c.backlog_len = static_cast<uint32_t>(len - used);
    pause_recv(c);
  }
  timers_.refresh(c, now_ns_);
  scheduler_.release_if_idle(c);  // only bytes between requests (CRLF), or a request answered at once
}

// Parses requests from data until it is used up, the pipeline is full, a request is held, or
// input stops. Returns the bytes consumed (all of them when input stopped: the rest is dropped).
size_t Shard::parse_input(Connection& c, const char* data, size_t len) noexcept {
  size_t off = 0;
  while (c.gate == InputGate::open) {
    if (c.queue.size() + 2 > kPipelineDepth) return off;  // a head may queue 100 Continue too
    if (!c.parser.in_request()) c.request.context.start_ns = now_ns_;
    size_t used = 0;
    const http::Event ev = c.parser.feed(data + off, len - off, used);
    off += used;
    switch (ev) {
      case http::Event::need_more:
        c.parser.stash();
        return len;
      case http::Event::head:
        if (!on_head(c)) return len;
        break;
      case http::Event::request:
        if (!on_request(c)) return off;  // held: the rest waits in the backlog
        break;
      case http::Event::error:
        fail_input(c, error_for(c.parser.error()));
        return len;
    }
  }
  return len;
}

// A head is complete: the handler captures the request (its context and verdict). False when
// it is answered at once and the connection closes (the body's framing is lost).
bool Shard::on_head(Connection& c) noexcept {
  c.request = handler_.begin(c.parser.head(), c.request.context.start_ns,
                             c.admin ? api::Listener::admin : api::Listener::public_port);
  const api::HeadVerdict& v = c.request.verdict;
  if (v.reject && v.reject_now) {
    enqueue(c, api::Handler::reject_now(c.request));
    stop_input(c, Phase::answer_then_half_close);
    return false;
  }
  if (v.reject) c.parser.discard_body();
  if (v.send_continue) enqueue(c, api::Handler::interim_continue());
  return true;
}

// A request is complete: the handler decides once. False when it is held (the log's buffers
// are all taken, or ids are on their way): its body is kept, and nothing more is parsed.
bool Shard::on_request(Connection& c) noexcept {
  const api::Decision d = handler_.on_request(c.request, c.parser.body(), c.parser.keep_alive(), wall_ns_);
  if (holds(d.next)) {
    c.parser.keep_body();
    c.gate = InputGate::held;
    held_.push_back(c.slot);
    const auto reason = d.next == api::Next::hold_for_log ? metrics::HoldReason::log : metrics::HoldReason::ids;
    metrics::bump(setup_.metrics->held_requests[static_cast<size_t>(reason)]);
    return false;
  }
  act(c, d);
  return true;
}

// Queues the decided answer; one that closes the connection stops its input.
void Shard::act(Connection& c, const api::Decision& d) noexcept {
  BR_ASSERT(!holds(d.next));
  if (d.next == api::Next::answer_after_write) enqueue_after_write(c, d.pending, d.batch);
  else enqueue(c, d.pending);
  if (!d.pending.keep_alive) stop_input(c, Phase::answer_then_close);
}

// Retries held requests, oldest first, once log buffers are free again (or ids came); stops at
// the first that is still held, so they are taken in arrival order. A retry only takes an id
// and appends: the body was validated when the request completed.
void Shard::retry_held() noexcept {
  while (held_head_ < held_.size()) {
    Connection& c = conns_.at(held_[held_head_]);
    if (!c.closing() && c.gate == InputGate::held) {
      const api::Decision d = handler_.retry(c.request, c.parser.body(), wall_ns_, now_ns_);
      if (holds(d.next)) return;
      // Answered: input goes on, unless the connection was told to stop while it was held.
      c.gate = c.phase == Phase::open ? InputGate::open : InputGate::stopped;
      act(c, d);
      if (c.backlog_len > 0) drain_backlog(c);
      timers_.refresh(c, now_ns_);
    }
    ++held_head_;
  }
  held_.clear();
  held_head_ = 0;
}

// Parses what waited in the backlog (room in the pipeline again, or a held request answered).
void Shard::drain_backlog(Connection& c) noexcept {
  if (c.gate == InputGate::stopped) {
    c.backlog_len = 0;
    return;
  }
  if (c.gate == InputGate::held) return;
  BR_ASSERT(c.gate == InputGate::open || c.gate == InputGate::pipeline_full);
  c.gate = InputGate::open;
  Workspace& w = *c.ws;
  const size_t used = parse_input(c, w.backlog, c.backlog_len);
  if (used < c.backlog_len && c.gate != InputGate::stopped) {
    if (c.gate == InputGate::open) c.gate = InputGate::pipeline_full;
    std::memmove(w.backlog, w.backlog + used, c.backlog_len - used);
    c.backlog_len -= static_cast<uint32_t>(used);
    return;
  }
  c.backlog_len = 0;
  conns_.workspaces().trim_backlog(w);
  resume_recv(c);
}

// Back-pressure: stop receiving until the backlog drains. With DEFER_TASKRUN the cancel is
// submitted before the kernel runs more receive work for us, so only completions already
// posted still arrive; the backlog has room for them.
void Shard::pause_recv(Connection& c) noexcept {
  if (c.recv != RecvState::armed) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, encode_conn(Op::recv, c.slot, c.gen), 0);
  io_uring_sqe_set_data64(s, encode_conn(Op::cancel, c.slot, c.gen));
  ++c.in_flight;
  c.recv = RecvState::pausing;
}

// Receives again after a pause (backlog drained, or parked input replayed). A receive whose
// cancel is still on its way is armed again when that cancel's CQE ends it (on_recv).
void Shard::resume_recv(Connection& c) noexcept {
  if (!c.recv_paused()) return;
  c.recv = c.recv == RecvState::pausing ? RecvState::armed : RecvState::off;
  if (c.recv == RecvState::off && !c.closing() && !c.on_rearm_list) {
    c.on_rearm_list = true;
    rearm_.push_back(c.slot);
  }
}

// Hands workspaces freed this turn to the connections waiting longest.
void Shard::serve_waiters() noexcept {
  ConnectionTable::Attach how = ConnectionTable::Attach::none;
  while (Connection* c = scheduler_.serve_next(how)) {
    if (how == ConnectionTable::Attach::framing_error) {
      c->request.context.start_ns = now_ns_;
      fail_input(*c, api::ErrorId::malformed_http);
    }
    replay_parked(*c);
  }
}

// Parses a newly served connection's parked input, in arrival order, then reads on.
void Shard::replay_parked(Connection& c) noexcept {
  uint16_t bid = 0;
  uint32_t len = 0;
  while (scheduler_.pop_parked(c, bid, len)) {
    if (!c.closing()) handle_input(c, buf_ring_.buffer(bid), len);
    buf_ring_.give_back(bid);
  }
  if (c.closing()) return;  // (handle_input may have closed it: its slot may be free already)
  const bool eof = c.eof_parked;
  c.eof_parked = false;
  if (stopping_) {
    stop_connection(c);
  } else if (eof) {
    on_peer_eof(c);
  } else if (c.gate != InputGate::stopped && c.backlog_len == 0) {
    resume_recv(c);  // with a backlog, drain_backlog resumes it
  }
  scheduler_.release_if_idle(c);
}

}  // namespace busyring::net
