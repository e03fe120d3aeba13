// Connection I/O on a shard: multishot receive -> parse -> queue -> ordered sends -> close.
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "busyring/base/assert.h"
#include "busyring/net/shard.h"

namespace busyring::net {

namespace {
// How long a request may wait for a shard's id source to refill an empty reserve before it
// is answered 503 id_source_unavailable. A refill is one Redis round trip; the source
// itself gives up on a call (and stops serving) after its own timeout.
constexpr uint64_t kIdWaitMaxNs = 1'000'000'000;

api::ErrorId error_for(http::ParseError e) noexcept {
  switch (e) {
    case http::ParseError::head_too_large: return api::ErrorId::head_too_large;
    case http::ParseError::target_too_long: return api::ErrorId::target_too_long;
    case http::ParseError::body_too_large: return api::ErrorId::body_too_large;
    case http::ParseError::version: return api::ErrorId::version_not_supported;
    case http::ParseError::malformed:
    case http::ParseError::none: break;
  }
  return api::ErrorId::malformed_http;
}

}  // namespace

void Shard::arm_recv(Connection& c) noexcept {
  io_uring_sqe* s = sqe();
  io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = buf_ring_.group();
  io_uring_sqe_set_data64(s, encode_conn(Op::recv, c.slot, c.gen));
  c.recv_armed = true;
  ++c.in_flight;
}

void Shard::on_recv(Connection& c, const io_uring_cqe* cqe) noexcept {
  const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
  if (!more) {
    BR_ASSERT(c.in_flight > 0);
    c.recv_armed = false;
    --c.in_flight;
  }
  const int res = cqe->res;
  if (res > 0) {
    BR_ASSERT(cqe->flags & IORING_CQE_F_BUFFER);
    const auto bid = static_cast<uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    buf_ring_.lent();
    if (!c.closing && !c.stop_reading && !try_attach(c)) {
      park_input(c, bid, static_cast<uint32_t>(res));  // keeps the buffer until a workspace frees
    } else {
      if (!c.closing) handle_input(c, buf_ring_.buffer(bid), static_cast<size_t>(res));
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
  const bool rearm = !more && !c.closing && !c.recv_paused && res != 0 &&
                     (res > 0 || res == -ENOBUFS || res == -ECANCELED);
  if (rearm && !c.rearm) {
    c.rearm = true;
    if (res == -ENOBUFS) nobufs_.push_back(c.slot);  // re-armed once buffers are back
    else rearm_.push_back(c.slot);
  }
  on_conn_op_done(c);
}

// The peer closed its side: answer what was received, then close.
void Shard::on_peer_eof(Connection& c) noexcept {
  if (c.ws_wait) {
    c.eof_parked = true;  // after the parked input is parsed (replay_parked)
    return;
  }
  if (c.draining || (c.queue.empty() && !c.send_in_flight && c.out_len == 0)) {
    begin_close(c);
  } else {
    c.stop_reading = true;
    c.close_after = true;
  }
}

// Bytes for a connection that has a workspace (try_attach).
void Shard::handle_input(Connection& c, const char* data, size_t len) noexcept {
  if (c.stop_reading) return;  // dropped: after a closing response, or while stopping
  BR_ASSERT(c.ws != nullptr);
  Workspace& w = *c.ws;
  if (c.backlog_len > 0 || c.held) {
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
  if (used < len && !c.stop_reading) {
    // The pipeline is full or a request is held: keep the rest for later.
    BR_ASSERT(len - used <= kBacklogBytes);
    std::memcpy(w.backlog, data + used, len - used);
    c.backlog_len = static_cast<uint32_t>(len - used);
    pause_recv(c);
  }
  timer_update(c);
  maybe_detach(c);  // only bytes between requests (CRLF), or a request answered at once
}

// Backpressure: the pipeline is full, so stop receiving until the backlog drains. With
// DEFER_TASKRUN the cancel is submitted before the kernel runs more receive work for us, so
// only completions already posted still arrive; the backlog has room for them.
void Shard::pause_recv(Connection& c) noexcept {
  if (c.recv_paused || !c.recv_armed) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, encode_conn(Op::recv, c.slot, c.gen), 0);
  io_uring_sqe_set_data64(s, encode_conn(Op::cancel, c.slot, c.gen));
  ++c.in_flight;
  c.recv_paused = true;
}

// Parses requests from data until it is used up, the pipeline is full, or the connection
// stops reading. Returns the bytes consumed.
size_t Shard::parse_input(Connection& c, const char* data, size_t len) noexcept {
  size_t off = 0;
  while (!c.stop_reading && !c.held) {
    if (c.queue.size() + 2 > kPipelineDepth) return off;  // a head may queue 100 Continue too
    if (!c.parser.in_request()) c.request_start_ns = now_ns_;
    size_t used = 0;
    const http::Event ev = c.parser.feed(data + off, len - off, used);
    off += used;
    switch (ev) {
      case http::Event::need_more:
        c.parser.stash();
        return len;
      case http::Event::head: {
        c.verdict = handler_.on_head(c.parser.head());
        if (c.verdict.reject && c.verdict.reject_now) {
          http::Pending p = api::Handler::error_pending(*c.verdict.reject);
          p.route = static_cast<uint8_t>(c.verdict.route);
          p.keep_alive = false;
          p.start_ns = c.request_start_ns;
          p.head = c.parser.head().method == http::Method::head;
          enqueue(c, p, false, 0);
          stop_input(c, true);
          return len;
        }
        if (c.verdict.reject) c.parser.discard_body();
        if (c.verdict.send_continue) {
          http::Pending p;
          p.kind = http::PendingKind::interim_continue;
          p.state = http::PendingState::ready;
          p.status = 100;
          enqueue(c, p, false, 0);
        }
        break;
      }
      case http::Event::request: {
        const api::Outcome o = handler_.on_request(c.verdict, c.parser.head(), c.parser.body(), wall_ns_);
        if (o.retry) {
          // Hold it: keep its body, read no further until the log has room (or ids come).
          c.parser.keep_body();
          c.held = true;
          held_.push_back(c.slot);
          return off;
        }
        complete_request(c, o);
        if (c.stop_reading) return len;
        break;
      }
      case http::Event::error:
        fail_input(c, error_for(c.parser.error()));
        return len;
    }
  }
  return len;
}

void Shard::complete_request(Connection& c, const api::Outcome& o) noexcept {
  const http::RequestHead& head = c.parser.head();
  http::Pending p = o.pending;
  p.start_ns = c.request_start_ns;
  p.keep_alive = p.keep_alive && c.parser.keep_alive();
  p.http10 = head.version_minor == 0;
  p.head = head.method == http::Method::head;
  enqueue(c, p, o.wait_for_batch, o.batch);
  if (!p.keep_alive) stop_input(c, false);
}

// Retries held requests, oldest first, once log buffers are free again; stops at the first
// that still finds no room, so they are taken in arrival order. One waiting for ids is
// answered 503 once it has waited kIdWaitMaxNs (the source stays up, but gives nothing).
void Shard::retry_held() noexcept {
  while (held_head_ < held_.size()) {
    Connection& c = conns_.at(held_[held_head_]);
    if (c.open && !c.closing && c.held) {
      api::Outcome o = handler_.on_request(c.verdict, c.parser.head(), c.parser.body(), wall_ns_);
      if (o.retry && o.waiting_for_ids && now_ns_ - c.request_start_ns > kIdWaitMaxNs)
        o = api::Handler::ids_unavailable(c.verdict);
      if (o.retry) return;
      c.held = false;
      complete_request(c, o);
      if (c.backlog_len > 0) drain_backlog(c);
      timer_update(c);
    }
    ++held_head_;
  }
  held_.clear();
  held_head_ = 0;
}

void Shard::drain_backlog(Connection& c) noexcept {
  if (c.stop_reading) {
    c.backlog_len = 0;
    return;
  }
  if (c.held) return;
  Workspace& w = *c.ws;
  const size_t used = parse_input(c, w.backlog, c.backlog_len);
  if (used < c.backlog_len && !c.stop_reading) {
    std::memmove(w.backlog, w.backlog + used, c.backlog_len - used);
    c.backlog_len -= static_cast<uint32_t>(used);
    return;
  }
  c.backlog_len = 0;
  conns_.workspaces().trim_backlog(w);
  resume_recv(c);
}

// Receives again after a pause (backlog drained, or parked input replayed).
void Shard::resume_recv(Connection& c) noexcept {
  if (!c.recv_paused) return;
  c.recv_paused = false;
  if (!c.recv_armed && !c.closing && !c.rearm) {
    c.rearm = true;
    rearm_.push_back(c.slot);
  }
}

void Shard::stop_input(Connection& c, bool linger) noexcept {
  c.stop_reading = true;
  c.close_after = true;
  c.linger = linger;
  c.backlog_len = 0;
}

// The bytes cannot be framed: answer with the error, read no further, close once it is sent.
void Shard::fail_input(Connection& c, api::ErrorId error) noexcept {
  http::Pending p = api::Handler::error_pending(error);
  p.keep_alive = false;
  p.route = static_cast<uint8_t>(metrics::Route::other);
  p.start_ns = c.request_start_ns;
  enqueue(c, p, false, 0);
  stop_input(c, true);
}

// Stopping: requests already complete are answered and flushed; partial ones are dropped.
void Shard::stop_connection(Connection& c) noexcept {
  if (c.queue.empty() && !c.send_in_flight && c.out_len == 0) {
    begin_close(c);
  } else {
    c.stop_reading = true;
    c.close_after = true;
  }
}

void Shard::enqueue(Connection& c, http::Pending p, bool wait, uint64_t batch) noexcept {
  BR_ASSERT(c.ws != nullptr);
  const uint32_t seq = c.queue.push(p);
  if (wait) {
    BR_ASSERT(waiter_tail_ - waiter_head_ <= waiter_mask_);
    waiters_[waiter_tail_++ & waiter_mask_] = Waiter{batch, c.slot, c.gen, seq};
  } else {
    mark_dirty(c);
  }
}

void Shard::mark_dirty(Connection& c) noexcept {
  if (c.dirty) return;
  c.dirty = true;
  dirty_.push_back(c.slot);
}

// Renders the ready responses at the head of the queue into the output buffer and sends them.
void Shard::flush(Connection& c) noexcept {
  if (c.send_in_flight || c.closing) return;
  metrics::ShardMetrics& m = *setup_.metrics;
  while (!c.queue.empty()) {
    const http::Pending& p = c.queue.front();
    if (p.state != http::PendingState::ready) break;
    const size_t n = api::render(p, c.ws->out + c.out_len, kOutBytes - c.out_len, render_ctx_);
    if (n == 0) {
      BR_ASSERT(c.out_len > 0);  // every response fits an empty buffer
      break;
    }
    c.out_len += static_cast<uint32_t>(n);
    if (p.kind != http::PendingKind::interim_continue) {
      m.count_request(static_cast<metrics::Route>(p.route), api::rendered_status(p, render_ctx_));
      if (p.kind == http::PendingKind::error) m.count_rejection(p.detail);
      if (p.kind == http::PendingKind::created) m.observe_latency_us((now_ns_ - p.start_ns) / 1000);
    }
    const bool keep = p.keep_alive;
    c.queue.pop();
    if (!keep) {
      c.close_after = true;
      BR_ASSERT(c.queue.empty());
      break;
    }
  }
  if (c.out_len > c.out_sent) submit_send(c);
  else finish_responses(c);
}

void Shard::submit_send(Connection& c) noexcept {
  BR_ASSERT(!c.send_in_flight);
  io_uring_sqe* s = sqe();
  io_uring_prep_send(s, c.fd, c.ws->out + c.out_sent, c.out_len - c.out_sent, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, encode_conn(Op::send, c.slot, c.gen));
  c.send_in_flight = true;
  ++c.in_flight;
}

void Shard::on_send(Connection& c, int res) noexcept {
  c.send_in_flight = false;
  if (c.closing) {
    on_conn_op_done(c);
    return;
  }
  if (res < 0) {
    begin_close(c);
    return;
  }
  c.out_sent += static_cast<uint32_t>(res);
  if (c.out_sent < c.out_len) {
    submit_send(c);  // short send: the rest goes next
    return;
  }
  c.out_len = c.out_sent = 0;
  if (c.backlog_len > 0) drain_backlog(c);
  flush(c);
  timer_update(c);
}

// Everything answered: the workspace goes back to the pool if nothing else needs it; close if
// asked to (with a half-close first when input may be unread, so the client reads our answer
// instead of a reset).
void Shard::finish_responses(Connection& c) noexcept {
  maybe_detach(c);
  if (!c.close_after || !c.queue.empty() || c.out_len != 0 || c.send_in_flight || c.closing) return;
  if (c.draining) return;
  if (!c.linger || !c.recv_armed) {
    begin_close(c);
    return;
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_shutdown(s, c.fd, SHUT_WR);
  io_uring_sqe_set_data64(s, encode_conn(Op::shutdown, c.slot, c.gen));
  ++c.in_flight;
  c.draining = true;
  timer_set(c, TimerList::linger, now_ns_ + 2'000'000'000ull);
}

void Shard::begin_close(Connection& c) noexcept {
  if (c.closing) return;
  c.closing = true;
  timer_clear(c);
  drop_workspace_state(c);  // parked input is dropped, and the connection waits no more
  if (c.in_flight > 0) {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel_fd(s, c.fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(s, encode_conn(Op::cancel, c.slot, c.gen));
    ++c.in_flight;
  }
  on_conn_op_done(c);
}

// Frees a closing slot once no SQE names it any more.
void Shard::on_conn_op_done(Connection& c) noexcept {
  if (!c.open || !c.closing || c.in_flight != 0) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_close(s, c.fd);
  io_uring_sqe_set_data64(s, encode_seq(Op::close, 0));
  metrics::ShardMetrics& m = *setup_.metrics;
  m.connections_open.store(metrics::read(m.connections_open) - 1, std::memory_order_relaxed);
  shared_.connections.fetch_sub(1, std::memory_order_relaxed);
  drop_workspace_state(c);
  workspace_returned(c);
  conns_.release(c);  // its workspace, if any, goes back to the pool
}

}  // namespace busyring::net
