// Worker connection I/O: connect, recv, send and their completions, response accounting,
// and closing. Handlers only queue SQEs; Worker::turn() submits them all at once.
//   closed --start_connect--> connecting --ok--> open
//     ^                           | error          | error, timeout, Connection: close, EOF
//     +------ finish_close <--- closing <----------+   (shutdown(2), then wait for ops == 0)
// A slot is reused only once no SQE of it is in flight, so its buffers are never shared.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/assert.h"
#include "worker.h"

namespace busyring::load {
namespace {

constexpr uint64_t retry_after_error_ns = 100'000'000;  // a refused port is not hammered

// user_data = op:8 | slot:24 | generation:32
constexpr uint64_t encode(uint8_t op, uint32_t slot, uint32_t generation) {
  return uint64_t{op} << 56 | uint64_t{slot} << 32 | generation;
}
static_assert(encode(3, 0xffffff, 0xffffffff) >> 56 == 3);

// CMSG_* macros use C casts (-Wold-style-cast): the same arithmetic, spelled out.
constexpr size_t cmsg_align(size_t n) { return (n + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1); }
constexpr size_t cmsg_data_offset = cmsg_align(sizeof(cmsghdr));

}  // namespace

void Worker::prep(io_uring_sqe* sqe, Connection& c, Op op) noexcept {
  io_uring_sqe_set_data64(sqe, encode(static_cast<uint8_t>(op), index_of(c), c.generation));
  c.ops++;
}

void Worker::dispatch(const io_uring_cqe* cqe) noexcept {
  const uint64_t data = cqe->user_data;
  const auto op = static_cast<Op>(data >> 56);
  const auto slot = static_cast<uint32_t>(data >> 32) & 0xffffff;
  BR_ASSERT(slot < conns_.size());
  Connection& c = conns_[slot];
  BR_ASSERT(static_cast<uint32_t>(data) == c.generation);
  BR_ASSERT(c.ops > 0);
  c.ops--;
  if (op == Op::send) c.sending = false;
  if (c.state == State::closing) {
    if (c.ops == 0) finish_close(c);
    return;
  }
  switch (op) {
    case Op::connect: on_connect(c, cqe->res); break;
    case Op::recv: on_recv(c, cqe->res); break;
    case Op::send: on_send(c, cqe->res); break;
  }
}

void Worker::start_connect(Connection& c) noexcept {
  BR_ASSERT(c.state == State::closed);
  BR_ASSERT(c.ops == 0);
  const Target& t = *plan_.target;
  c.connect_ns = now_;
  c.fd = ::socket(t.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {  // EMFILE and friends: an operating error, counted and retried
    stats_.count_error(ErrorKind::connect, 1);
    c.retry_ns = now_ + retry_after_error_ns;
    return;
  }
  const int one = 1;  // requests are whole writes: never wait for Nagle
  (void)::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // The kernel stamps each reply on arrival, so that latency does not depend on when this
  // loop gets to read it (it shares the CPUs with the server, and it batches its wake-ups).
  (void)::setsockopt(c.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_connect(sqe, c.fd, reinterpret_cast<const sockaddr*>(&t.addr), t.addr_len);
  prep(sqe, c, Op::connect);
  c.state = State::connecting;
}

void Worker::on_connect(Connection& c, int res) noexcept {
  if (res < 0) {
    fail(c, ErrorKind::connect);
    return;
  }
  c.state = State::open;
  arm_recv(c);
  pump(c);
}

void Worker::arm_recv(Connection& c) noexcept {
  static_assert(sizeof c.control >= cmsg_data_offset + sizeof(timespec));
  c.iov.iov_base = c.stream.space();
  c.iov.iov_len = c.stream.space_bytes();
  c.msg = msghdr{};
  c.msg.msg_iov = &c.iov;
  c.msg.msg_iovlen = 1;
  c.msg.msg_control = c.control;
  c.msg.msg_controllen = sizeof c.control;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_recvmsg(sqe, c.fd, &c.msg, 0);
  // Armed right after the socket was drained, so a first try would find nothing: wait for
  // data first (5.19+; older kernels answer -EINVAL once and lose the flag).
  if (recv_poll_first_) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  prep(sqe, c, Op::recv);
}

uint64_t Worker::arrival_ns(const Connection& c) const noexcept {
  // SCM_TIMESTAMPNS: CLOCK_REALTIME of the last segment this recvmsg read.
  size_t at = 0;
  while (at + cmsg_data_offset <= c.msg.msg_controllen) {
    cmsghdr h{};
    std::memcpy(&h, c.control + at, sizeof h);
    if (h.cmsg_len < sizeof h || at + h.cmsg_len > c.msg.msg_controllen) break;
    if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_TIMESTAMPNS &&
        h.cmsg_len >= cmsg_data_offset + sizeof(timespec)) {
      timespec ts{};
      std::memcpy(&ts, c.control + at + cmsg_data_offset, sizeof ts);
      const uint64_t real_ns = static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u +
                               static_cast<uint64_t>(ts.tv_nsec);
      const uint64_t mono_ns = real_ns - realtime_offset_ns_;
      return mono_ns < now_ ? mono_ns : now_;
    }
    at += cmsg_align(h.cmsg_len);
  }
  return 0;
}

void Worker::on_recv(Connection& c, int res) noexcept {
  if (res == -EINVAL && recv_poll_first_) {
    recv_poll_first_ = false;
    res = -EAGAIN;
  }
  if (res == -EINTR || res == -EAGAIN || res == -ENOBUFS) {
    arm_recv(c);
    return;
  }
  if (res < 0 || (res == 0 && (c.pacer.inflight() > 0 || !c.stream.empty()))) {
    fail(c, ErrorKind::read);  // reset, or closed with replies owed
    return;
  }
  if (res == 0) {  // the server closed an idle keep-alive connection: reconnect now
    begin_close(c, now_);
    return;
  }
  c.stream.commit(static_cast<size_t>(res));
  uint64_t arrived_ns = arrival_ns(c);
  // No stamp (the kernel turns stamping on lazily, from a work queue, after the first
  // setsockopt): time this reply when read, and read the next ones at once until they
  // carry stamps again.
  rx_stamps_ = arrived_ns != 0;
  if (arrived_ns == 0) arrived_ns = now_;
  Response r;
  for (;;) {
    const Next next = c.stream.next(&r);
    if (next == Next::incomplete) break;
    if (next == Next::malformed || c.pacer.inflight() == 0) {  // garbage, or unasked for
      fail(c, ErrorKind::malformed);
      return;
    }
    on_response(c, r, arrived_ns);
    if (r.close) {
      // Requests pipelined behind the last reply are lost with the connection.
      if (c.pacer.inflight() > 0) {
        fail(c, ErrorKind::read);
      } else {
        begin_close(c, now_);
      }
      return;
    }
  }
  arm_recv(c);
  pump(c);
}

void Worker::on_response(Connection& c, const Response& r, uint64_t arrived_ns) noexcept {
  histogram_.record(c.pacer.complete(arrived_ns));
  inflight_--;
  stats_.responses++;
  if (r.code == plan_.target->expect_code) {
    stats_.ok++;
  } else {
    stats_.count_error(ErrorKind::status, 1);
    if (r.code < stats_.by_status.size()) stats_.by_status[r.code]++;
  }
  if (r.has_id) {
    stats_.ids += r.count;
    for (uint64_t k = 0; k < r.count; k++) ids_.add(r.id + k);
  }
}

void Worker::pump(Connection& c) noexcept {
  if (c.state != State::open || phase_ == Phase::warm_up) return;
  // Nothing leaves after the duration: a backlog left then is reported as missed.
  const bool running = phase_ == Phase::running;
  const uint32_t issued = running ? c.pacer.issue_due(now_, stop_ns_) : 0;
  c.unsent += issued;
  stats_.sent += issued;
  inflight_ += issued;
  if (c.unsent > 0 && !c.sending) submit_send(c);
  const bool scheduled = running && c.pacer.open_loop() && c.pacer.next_due_ns() < stop_ns_;
  if (scheduled && !c.pacer.has_room() && c.pacer.next_due_ns() <= now_ + plan_.batch_ns) {
    set_late(c, true);  // due now, blocked on a reply: that reply must wake the loop
    return;
  }
  set_late(c, false);
  if (scheduled) push_due(c);  // wake up when its next request is due
}

void Worker::submit_send(Connection& c) noexcept {
  BR_ASSERT(!c.sending);
  BR_ASSERT(c.unsent > 0 && c.unsent <= plan_.pipeline);
  c.send_done = 0;
  c.send_bytes = c.unsent * plan_.target->request_bytes;
  c.unsent = 0;
  c.sending = true;
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_send(sqe, c.fd, plan_.target->requests.data(), c.send_bytes, MSG_NOSIGNAL);
  prep(sqe, c, Op::send);
}

void Worker::on_send(Connection& c, int res) noexcept {
  if (res == 0 || (res < 0 && res != -EINTR && res != -EAGAIN)) {
    fail(c, ErrorKind::write);
    return;
  }
  c.send_done += res > 0 ? static_cast<uint32_t>(res) : 0;
  BR_ASSERT(c.send_done <= c.send_bytes);
  if (c.send_done < c.send_bytes) {  // short send: the rest, from where it stopped
    c.sending = true;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_send(sqe, c.fd, plan_.target->requests.data() + c.send_done,
                       c.send_bytes - c.send_done, MSG_NOSIGNAL);
    prep(sqe, c, Op::send);
    return;
  }
  if (c.unsent > 0) submit_send(c);
}

void Worker::fail(Connection& c, ErrorKind kind) noexcept {
  const uint32_t lost = c.pacer.drop_inflight();
  inflight_ -= lost;
  stats_.count_error(kind, lost > 0 ? lost : 1);
  begin_close(c, now_ + (kind == ErrorKind::connect ? retry_after_error_ns : 0));
}

void Worker::begin_close(Connection& c, uint64_t retry_ns) noexcept {
  BR_ASSERT(c.state == State::open || c.state == State::connecting);
  inflight_ -= c.pacer.drop_inflight();
  c.unsent = 0;
  set_late(c, false);
  c.retry_ns = retry_ns;
  c.state = State::closing;
  // Wakes the pending recv (and any send or connect) so that their CQEs come back.
  (void)::shutdown(c.fd, SHUT_RDWR);
  if (c.ops == 0) finish_close(c);
}

void Worker::finish_close(Connection& c) noexcept {
  BR_ASSERT(c.ops == 0);
  ::close(c.fd);
  c.fd = -1;
  c.generation++;
  c.stream.reset();
  c.sending = false;
  c.state = State::closed;
  if (phase_ != Phase::draining && c.retry_ns <= now_) start_connect(c);
}

}  // namespace busyring::load
