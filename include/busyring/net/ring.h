// io_uring setup with feature fallback: SINGLE_ISSUER|DEFER_TASKRUN where the kernel has them,
// COOP_TASKRUN otherwise, plain as a last resort; the path taken is reported once. Also the
// start-up probe that tells, in one line, why io_uring cannot be used at all.
#pragma once

#include <liburing.h>

#include <string>

#include "busyring/base/result.h"

namespace busyring::net {

struct RingSetup {
  unsigned sq_entries = 2048;
  unsigned cq_entries = 8192;  // >= 4 x SQ: multishot receives can post many CQEs per SQE
};

// Returns a short description of the mode ("single-issuer+defer-taskrun", ...) or an error.
[[nodiscard]] base::Result<std::string> setup_ring(io_uring* ring, const RingSetup& setup);

// Checks that io_uring works here with the operations we need (multishot accept and receive,
// provided buffer rings): an error says what is missing and how to fix it.
[[nodiscard]] base::Status probe_io_uring();

// Gets an SQE, submitting what is queued if the SQ is full. Never returns null.
io_uring_sqe* get_sqe(io_uring* ring) noexcept;

}  // namespace busyring::net
