// One load-generating event loop: an io_uring, its share of the connections and of the rate,
// its own Stats and Histogram. Owned and driven by one thread (the ring is SINGLE_ISSUER);
// the only shared state is the Progress block it publishes every tick (10 ms).
// Lifecycle: setup() -> warm_up() (connect everything) -> run(start_ns) -> read results.
#pragma once

#include <liburing.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "histogram.h"
#include "ids_out.h"
#include "pacer.h"
#include "response_stream.h"
#include "stats.h"
#include "target.h"

namespace busyring::load {

struct WorkerPlan {
  const Target* target = nullptr;
  uint32_t first_connection = 0;   // global index of this worker's first connection
  uint32_t connections = 0;        // this worker's share
  uint32_t total_connections = 0;  // over all workers (the schedule staggers over all)
  double rate = 0;                 // over all workers; 0 = closed loop
  uint32_t pipeline = 1;
  uint64_t duration_ns = 0;
  uint64_t timeout_ns = 0;
  uint64_t batch_ns = 0;  // open loop: requests due this soon leave with the current batch
  int ids_fd = -1;
  bool live = false;  // publish a running p99 for the live line
  const std::atomic<bool>* interrupted = nullptr;  // set on SIGINT/SIGTERM: stop early
};

// Published by a worker (relaxed stores), read by the thread that prints the live line.
struct alignas(64) Progress {
  std::atomic<uint64_t> responses{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> p99_ns{0};
};

class Worker {
 public:
  Worker(const WorkerPlan& plan, Progress* progress);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Creates the ring and the connection slots; 0 or -errno. Call on the worker's thread.
  [[nodiscard]] int setup() noexcept;
  // Connects every connection, waiting at most the timeout; failures are counted and retried.
  void warm_up() noexcept;
  // Runs the schedule from start_ns for the duration, then drains replies (bounded).
  void run(uint64_t start_ns) noexcept;

  [[nodiscard]] const Stats& stats() const noexcept { return stats_; }
  [[nodiscard]] const Histogram& histogram() const noexcept { return histogram_; }
  [[nodiscard]] int ids_error() const noexcept { return ids_error_; }
  // When the load stopped: start + duration, or earlier if interrupted.
  [[nodiscard]] uint64_t stop_ns() const noexcept { return stop_ns_; }

 private:
  enum class Op : uint8_t { connect = 1, recv = 2, send = 3 };
  enum class State : uint8_t { closed, connecting, open, closing };
  enum class Phase : uint8_t { warm_up, running, draining };
  struct Connection {
    explicit Connection(size_t recv_bytes) : stream(recv_bytes) {}
    Pacer pacer;
    ResponseStream stream;
    uint64_t retry_ns = 0;    // closed: when to connect again
    uint64_t connect_ns = 0;  // connecting: when the attempt began
    int fd = -1;
    uint32_t generation = 0;   // bumped when the fd is closed; in every user_data
    uint32_t unsent = 0;       // issued requests not yet in a send
    uint32_t send_done = 0;    // bytes of the current send already sent
    uint32_t send_bytes = 0;   // bytes of the current send
    uint32_t ops = 0;          // SQEs in flight
    State state = State::closed;
    bool sending = false;
    bool in_heap = false;
    bool late = false;  // its next request is due but the window is full: wake on replies
    msghdr msg{};       // recvmsg: the data goes to `stream`, the arrival time to `control`
    iovec iov{};
    alignas(cmsghdr) char control[64];
  };
  struct Due {
    uint64_t due_ns;
    uint32_t index;
  };

  void turn(uint64_t deadline_ns, unsigned wait_nr) noexcept;
  void dispatch(const io_uring_cqe* cqe) noexcept;
  io_uring_sqe* get_sqe() noexcept;
  void prep(io_uring_sqe* sqe, Connection& c, Op op) noexcept;

  void start_connect(Connection& c) noexcept;
  void arm_recv(Connection& c) noexcept;
  void submit_send(Connection& c) noexcept;
  void on_connect(Connection& c, int res) noexcept;
  void on_recv(Connection& c, int res) noexcept;
  void on_send(Connection& c, int res) noexcept;
  void on_response(Connection& c, const Response& r, uint64_t arrived_ns) noexcept;

  void pump(Connection& c) noexcept;  // issue what is due, start a send, arm the timer
  void fail(Connection& c, ErrorKind kind) noexcept;
  void begin_close(Connection& c, uint64_t retry_ns) noexcept;
  void finish_close(Connection& c) noexcept;
  void tick() noexcept;  // timeouts, reconnects, progress
  void run_due_timers() noexcept;
  void push_due(Connection& c) noexcept;
  void set_late(Connection& c, bool late) noexcept;
  [[nodiscard]] uint64_t arrival_ns(const Connection& c) const noexcept;
  [[nodiscard]] uint32_t index_of(const Connection& c) const noexcept;

  WorkerPlan plan_;
  Progress* progress_;
  io_uring ring_{};
  bool ring_ready_ = false;
  std::vector<Connection> conns_;
  std::vector<Due> heap_;  // min-heap on due_ns, capacity = connections (one entry each)
  Stats stats_;
  Histogram histogram_;
  IdsWriter ids_;
  int ids_error_ = 0;
  Phase phase_ = Phase::warm_up;
  uint64_t now_ = 0;
  uint64_t stop_ns_ = UINT64_MAX;
  uint64_t next_tick_ns_ = 0;
  uint64_t next_publish_ns_ = 0;
  uint64_t inflight_ = 0;  // requests issued and not yet answered or lost, all connections
  uint64_t realtime_offset_ns_ = 0;  // CLOCK_REALTIME - CLOCK_MONOTONIC, refreshed each tick
  uint32_t late_count_ = 0;          // connections with `late` set
  unsigned cq_entries_ = 1;
  bool rx_stamps_ = true;  // the last reply read carried its kernel arrival time
  bool recv_poll_first_ = true;  // the kernel takes IORING_RECVSEND_POLL_FIRST
};

}  // namespace busyring::load
