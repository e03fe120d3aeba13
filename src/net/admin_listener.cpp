// The admin listener (--admin-bind, issue 18): /metrics and /healthz on an address the
// internet does not reach, with no token asked. It lives on shard 0, as a second multishot
// accept on that shard's ring, rather than on a thread of its own: its connections then go
// through the same parser, limits, timeouts and pipelining as every other (nothing to keep in
// step), and a scrape costs shard 0 what a /metrics request on the public port cost it before.
// Its connections have slots of their own (kAdminConnections beyond --max-connections), so a
// full public port does not lock the operator out; the API is not served there (404).
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/log.h"
#include "shard.h"

namespace busyring::net {

uint32_t Shard::admin_slots() const noexcept { return setup_.admin_fd >= 0 ? kAdminConnections : 0; }

void Shard::arm_admin_accept() noexcept {
  io_uring_sqe* s = sqe();
  io_uring_prep_multishot_accept(s, setup_.admin_fd, nullptr, nullptr, SOCK_CLOEXEC);
  io_uring_sqe_set_data64(s, encode_seq(Op::accept, kAdminAcceptSeq));
  admin_accept_armed_ = true;
}

void Shard::on_admin_accept(const io_uring_cqe* cqe) noexcept {
  if (!(cqe->flags & IORING_CQE_F_MORE)) admin_accept_armed_ = false;
  if (cqe->res < 0) {
    if (cqe->res != -ECANCELED && cqe->res != -EINVAL)
      BR_LOG_WARN("admin listener: accept failed: %s%s", std::strerror(-cqe->res),
                  cqe->res == -EMFILE || cqe->res == -ENFILE ? " (raise ulimit -n)" : "");
    return;
  }
  const int fd = cqe->res;
  conns_.give_back_if_idle();  // as on_accept: no handler holds a Connection& here
  Connection* c = nullptr;
  if (!stopping_ && admin_connections_ < kAdminConnections) c = conns_.acquire(fd);
  if (c == nullptr) {
    metrics::bump(setup_.metrics->connections_rejected);
    close(fd);
    return;
  }
  c->admin = true;
  ++admin_connections_;
  metrics::bump(setup_.metrics->connections_accepted);
  metrics::bump(setup_.metrics->connections_open);
  arm_recv(*c);
  timers_.refresh(*c, now_ns_);
}

// Stopping: no more admin connections (those open answer what they have, as every other).
void Shard::close_admin_listener() noexcept {
  if (setup_.admin_fd < 0) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, encode_seq(Op::accept, kAdminAcceptSeq), 0);
  io_uring_sqe_set_data64(s, encode_seq(Op::close, 0));
  close(setup_.admin_fd);
  setup_.admin_fd = -1;
}

}  // namespace busyring::net
