// Ring setup, feature probe and the SQE getter.
#include "busyring/net/ring.h"

#include <cerrno>
#include <cstring>

#include "busyring/base/assert.h"

namespace busyring::net {

base::Result<std::string> setup_ring(io_uring* ring, const RingSetup& setup) {
  struct Mode {
    unsigned flags;
    const char* name;
  };
  const Mode modes[] = {
      {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single-issuer+defer-taskrun"},
      {IORING_SETUP_COOP_TASKRUN, "coop-taskrun"},
      {0, "plain"},
  };
  int rc = -EINVAL;
  for (const Mode& m : modes) {
    io_uring_params p{};
    p.flags = m.flags | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
    p.cq_entries = setup.cq_entries;
    rc = io_uring_queue_init_params(setup.sq_entries, ring, &p);
    if (rc == 0) return std::string(m.name);
    if (rc != -EINVAL) break;
  }
  return base::Error{std::string("cannot create an io_uring: ") + std::strerror(-rc) +
                     (rc == -ENOMEM ? " (raise RLIMIT_MEMLOCK: ulimit -l unlimited)" : "")};
}

base::Status probe_io_uring() {
  io_uring ring;
  const int rc = io_uring_queue_init(8, &ring, 0);
  if (rc == -ENOSYS || rc == -EPERM) {
    return base::Error{std::string("io_uring is not available (") + std::strerror(-rc) +
                       "): enable it with 'sysctl kernel.io_uring_disabled=0', or run outside a "
                       "seccomp profile or container that blocks io_uring_setup"};
  }
  if (rc < 0) return base::Error{std::string("io_uring_setup failed: ") + std::strerror(-rc)};
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  std::string missing;
  if (probe == nullptr) {
    missing = "opcode probe";
  } else {
    if (!io_uring_opcode_supported(probe, IORING_OP_ACCEPT)) missing += " accept";
    if (!io_uring_opcode_supported(probe, IORING_OP_RECV)) missing += " recv";
    if (!io_uring_opcode_supported(probe, IORING_OP_SEND)) missing += " send";
    if (!io_uring_opcode_supported(probe, IORING_OP_WRITE_FIXED)) missing += " write_fixed";
    if (!io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL)) missing += " async_cancel";
    if (!io_uring_opcode_supported(probe, IORING_OP_SHUTDOWN)) missing += " shutdown";
    // The log's segment preparation and voiding run through the ring (storage/segment_preparer.h).
    if (!io_uring_opcode_supported(probe, IORING_OP_OPENAT)) missing += " openat";
    if (!io_uring_opcode_supported(probe, IORING_OP_FALLOCATE)) missing += " fallocate";
    if (!io_uring_opcode_supported(probe, IORING_OP_FSYNC)) missing += " fsync";
    if (!io_uring_opcode_supported(probe, IORING_OP_RENAMEAT)) missing += " renameat";
    if (!io_uring_opcode_supported(probe, IORING_OP_UNLINKAT)) missing += " unlinkat";
    io_uring_free_probe(probe);
  }
  io_uring_queue_exit(&ring);
  if (!missing.empty())
    return base::Error{"this kernel's io_uring lacks:" + missing + "; busyring needs Linux 6.0 or newer"};
  return base::ok_status();
}

io_uring_sqe* get_sqe(io_uring* ring) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  while (sqe == nullptr) {
    const int rc = io_uring_submit(ring);
    BR_ASSERT(rc >= 0 || rc == -EBUSY || rc == -EAGAIN);
    sqe = io_uring_get_sqe(ring);
  }
  return sqe;
}

}  // namespace busyring::net
