// Test support: a fake SQE sink for the log's state machines, and a runner that carries out
// what they queued on a real io_uring. Storage only preps the SQEs it is handed; here they are
// kept in order with the (op, seq) they were asked for, so a test can look at them (opcode,
// flags, fd), run them on the ring, or complete them itself with any result (a refused
// fallocate, a failed write) without the kernel ever seeing them.
#pragma once

#include <liburing.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "busyring/storage/sqe_sink.h"

namespace busyring::test {

using storage::LogOp;

struct QueuedSqe {
  io_uring_sqe sqe{};
  LogOp op = LogOp::write;
  uint64_t seq = 0;
};

class FakeSink final : public storage::SqeSink {
 public:
  io_uring_sqe* sqe(LogOp op, uint64_t seq) noexcept override {
    queued.push_back(QueuedSqe{{}, op, seq});
    io_uring_sqe* s = &queued.back().sqe;
    io_uring_sqe_set_data64(s, tag(op, seq));
    return s;
  }
  void reserve(uint32_t count) noexcept override { reserved = count; }

  static uint64_t tag(LogOp op, uint64_t seq) { return (static_cast<uint64_t>(op) << 56) | seq; }
  static LogOp op_of(uint64_t tag) { return static_cast<LogOp>(tag >> 56); }
  static uint64_t seq_of(uint64_t tag) { return tag & ((1ull << 56) - 1); }

  std::deque<QueuedSqe> queued;  // a deque: handed-out SQEs stay put while more are queued
  uint32_t reserved = 0;         // the last reserve() asked for
};

// A completion as the state machine sees it.
struct Completion {
  LogOp op;
  uint64_t seq;
  int res;
};

// Runs queued SQEs on a real ring (links kept: a write and its fdatasync go in one submission),
// except those a test chose to complete itself (inject). Remembers every SQE it took.
class RingRunner {
 public:
  explicit RingRunner(unsigned entries = 64) { REQUIRE(io_uring_queue_init(entries, &ring, 0) == 0); }
  ~RingRunner() { io_uring_queue_exit(&ring); }
  RingRunner(const RingRunner&) = delete;
  RingRunner& operator=(const RingRunner&) = delete;

  // The next queued SQE of this opcode completes with `res`, without running.
  void inject(uint8_t opcode, int res) { injections.push_back({opcode, res}); }
  // SQEs of this op wait (as on a stalled disk) until release() hands them to the ring.
  void hold(LogOp op) { held_op = op; }
  void release() {
    held_op.reset();
    FakeSink later;
    later.queued.swap(held);
    REQUIRE(start(later).empty());
  }

  // Takes every queued SQE: submits it, or completes it at once when injected. Returns the
  // injected completions (to hand back to the state machine before waiting on the ring).
  std::vector<Completion> start(FakeSink& sink) {
    std::vector<Completion> now;
    while (!sink.queued.empty()) {
      const QueuedSqe q = sink.queued.front();
      sink.queued.pop_front();
      if (held_op && q.op == *held_op) {
        held.push_back(q);
        continue;
      }
      taken.push_back(q);
      if (const std::optional<int> res = take_injection(q.sqe.opcode)) {
        REQUIRE((q.sqe.flags & IOSQE_IO_LINK) == 0);  // injected ops stand alone
        now.push_back(Completion{q.op, q.seq, *res});
        continue;
      }
      io_uring_sqe* s = io_uring_get_sqe(&ring);
      if (s == nullptr) {
        REQUIRE(io_uring_submit(&ring) >= 0);
        s = io_uring_get_sqe(&ring);
      }
      REQUIRE(s != nullptr);
      *s = q.sqe;
    }
    REQUIRE(io_uring_submit(&ring) >= 0);
    return now;
  }

  // Waits up to 5 s for one completion, then takes every one that has come.
  std::vector<Completion> wait() {
    std::vector<Completion> out;
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{5, 0};
    REQUIRE(io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0);
    do {
      out.push_back(Completion{FakeSink::op_of(cqe->user_data), FakeSink::seq_of(cqe->user_data), cqe->res});
      io_uring_cqe_seen(&ring, cqe);
    } while (io_uring_peek_cqe(&ring, &cqe) == 0);
    return out;
  }

  // Every SQE taken so far with this op and opcode.
  size_t count(LogOp op, uint8_t opcode) const {
    size_t n = 0;
    for (const QueuedSqe& q : taken) n += q.op == op && q.sqe.opcode == opcode ? 1 : 0;
    return n;
  }

  io_uring ring{};
  std::vector<QueuedSqe> taken;  // every SQE run or injected, in order
  std::deque<QueuedSqe> held;    // SQEs of the held op, not run yet
  std::optional<LogOp> held_op;

 private:
  std::optional<int> take_injection(uint8_t opcode) {
    for (size_t i = 0; i < injections.size(); ++i) {
      if (injections[i].first != opcode) continue;
      const int res = injections[i].second;
      injections.erase(injections.begin() + static_cast<long>(i));
      return res;
    }
    return std::nullopt;
  }
  std::vector<std::pair<uint8_t, int>> injections;
};

}  // namespace busyring::test
