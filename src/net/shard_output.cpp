// A shard's output side: answers queued in request order -> rendered into the output buffer
// -> one send in flight per connection -> half-close or close; and the timeouts that end
// connections (idle, request, linger, and early ones that free a workspace).
#include <netinet/in.h>
#include <sys/socket.h>

#include "busyring/base/assert.h"
#include "shard.h"

namespace busyring::net {

void Shard::enqueue(Connection& c, const http::Pending& p) noexcept {
  BR_ASSERT(c.ws != nullptr && p.state == http::PendingState::ready);
  c.queue.push(p);
  mark_dirty(c);
}

// A 201 that waits for the log write carrying its record (--ack durable or written).
void Shard::enqueue_after_write(Connection& c, const http::Pending& p, uint64_t batch) noexcept {
  BR_ASSERT(c.ws != nullptr && p.state == http::PendingState::waiting);
  const uint32_t seq = c.queue.push(p);
  log_port_.await(LogPort::Waiter{batch, c.slot, c.gen, seq});
}

// The write a queued 201 waited for has completed (res 0) or failed: the entry is settled by
// the API (ready, or 503) and the connection's answers flushed before sleeping.
void Shard::on_write_released(const LogPort::Waiter& w, int res) noexcept {
  Connection& c = conns_.at(w.slot);
  if (!c.in_use() || c.gen != w.gen || !c.queue.contains(w.seq)) return;  // the connection is gone
  api::Handler::settle(c.queue.at(w.seq), res);
  mark_dirty(c);
}

void Shard::mark_dirty(Connection& c) noexcept {
  if (c.on_flush_list) return;
  c.on_flush_list = true;
  dirty_.push_back(c.slot);
}

// Renders the ready answers at the head of the queue into the output buffer and sends them.
void Shard::flush(Connection& c) noexcept {
  if (c.send_in_flight || c.closing()) return;
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
      if (p.kind == http::PendingKind::created || p.kind == http::PendingKind::created_batch)
        m.observe_latency_us((now_ns_ - p.start_ns) / 1000);
    }
    const bool keep = p.keep_alive;
    c.queue.pop();
    if (!keep) {
      // Whoever queued a closing answer stopped the input (stop_input): nothing follows it.
      BR_ASSERT(c.phase != Phase::open);
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
  if (c.closing()) {
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
  timers_.refresh(c, now_ns_);
}

// Everything sent so far: the workspace goes back to the pool if nothing else needs it; a
// connection closing after its answers closes once all are sent, with a half-close first when
// input may be unread (so the client reads our answer instead of a reset).
void Shard::finish_responses(Connection& c) noexcept {
  scheduler_.release_if_idle(c);
  if (!c.closes_after_answers() || !c.answered()) return;
  if (c.phase == Phase::answer_then_close || !c.recv_armed()) {
    begin_close(c);
    return;
  }
  io_uring_sqe* s = sqe();
  io_uring_prep_shutdown(s, c.fd, SHUT_WR);
  io_uring_sqe_set_data64(s, encode_conn(Op::shutdown, c.slot, c.gen));
  ++c.in_flight;
  c.phase = Phase::half_closed;
  timers_.linger(c, now_ns_);
}

// No more input: what is queued is answered, then `after` (answer_then_close, or
// answer_then_half_close when input may be unread). A held request is complete: it keeps its
// gate until it is answered (retry_held), then input stops.
void Shard::stop_input(Connection& c, Phase after) noexcept {
  BR_ASSERT(after == Phase::answer_then_close || after == Phase::answer_then_half_close);
  BR_ASSERT(c.gate != InputGate::parked);
  if (c.gate != InputGate::held) c.gate = InputGate::stopped;
  if (c.phase == Phase::open || c.closes_after_answers()) c.phase = after;
  c.backlog_len = 0;
}

// The bytes cannot be framed: answer with the error, read no further, close once it is sent.
void Shard::fail_input(Connection& c, api::ErrorId error) noexcept {
  enqueue(c, api::Handler::connection_error(error, c.request.context.start_ns));
  stop_input(c, Phase::answer_then_half_close);
}

// The peer closed its side, or the shard is stopping: complete requests are answered and then
// the connection closes; a partial one is dropped. With nothing left to answer, at once.
void Shard::stop_connection(Connection& c) noexcept {
  if (c.answered()) {
    begin_close(c);
    return;
  }
  if (c.gate != InputGate::held) c.gate = InputGate::stopped;
  if (c.phase == Phase::open) c.phase = Phase::answer_then_close;
}

void Shard::begin_close(Connection& c) noexcept {
  if (c.closing()) return;
  c.phase = Phase::closing;
  timers_.clear(c);
  drop_parked(c);  // parked input is dropped, and the connection waits no more
  c.gate = InputGate::stopped;
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
  if (c.phase != Phase::closing || c.in_flight != 0) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_close(s, c.fd);
  io_uring_sqe_set_data64(s, encode_seq(Op::close, 0));
  metrics::ShardMetrics& m = *setup_.metrics;
  m.connections_open.store(metrics::read(m.connections_open) - 1, std::memory_order_relaxed);
  if (c.admin) --admin_connections_;
  else shared_.connections.fetch_sub(1, std::memory_order_relaxed);
  drop_parked(c);
  scheduler_.on_release(c);
  conns_.release(c);  // its workspace, if any, goes back to the pool
}

// Closing: off the wait list, and its parked buffers go back to the ring.
void Shard::drop_parked(Connection& c) noexcept {
  scheduler_.leave(c);
  uint16_t bid = 0;
  uint32_t len = 0;
  while (scheduler_.pop_parked(c, bid, len)) buf_ring_.give_back(bid);
  c.eof_parked = false;
}

void Shard::expire_timers() noexcept {
  TimerList list = TimerList::none;
  while (Connection* c = timers_.pop_expired(now_ns_, list)) {
    if (list == TimerList::request) time_out_request(*c);
    else begin_close(*c);  // idle or lingering
  }
}

// A started request out of time: 408 and close, or only close when answers are pending before it.
void Shard::time_out_request(Connection& c) noexcept {
  if (c.ws != nullptr && c.answered()) {
    enqueue(c, api::Handler::connection_error(api::ErrorId::request_timeout, c.request.context.start_ns));
    stop_input(c, Phase::answer_then_half_close);
  } else {
    begin_close(c);
  }
}

// Connections wait for a workspace and none came free: the requests in progress longest give
// way once they are older than a tenth of --request-timeout (see WorkspaceScheduler).
void Shard::shed_slow_requests() noexcept {
  const uint64_t grace_ns = config_.request_timeout_ms * 100'000ull;  // ms * 1e6 / 10
  while (Connection* c = scheduler_.next_to_shed(timers_, now_ns_, grace_ns)) time_out_request(*c);
}

}  // namespace busyring::net
