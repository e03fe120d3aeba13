// Load for the durability tests: N keep-alive connections, one thread each, posting usages as
// fast as the server answers (optionally pipelined: `pipeline` requests sent before any answer
// is read). Every request carries a unique tag, so what the server acknowledged can be matched
// against what is on disk. A thread ends when asked to (after reading every answer it is owed,
// so its tally is exact) or when the server goes away (a kill -9: the unanswered requests are
// simply not counted as acknowledged).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace blackbox {

using IdBodies = std::map<uint64_t, std::string>;

struct Ack {
  uint64_t id = 0;
  std::string body;
  int64_t at_ms = 0;  // now_ms() when the 201 was read
};

// What one connection saw, in the order it saw it.
struct ConnectionLog {
  std::vector<Ack> acked;           // 201s
  uint64_t unavailable = 0;         // 503s
  uint64_t unavailable_without_retry_after = 0;
  int64_t first_503_ms = 0;         // 0: none
  int64_t last_503_ms = 0;
  uint64_t acked_after_503 = 0;     // 201s read after this connection's first 503
  std::vector<int> other_statuses;  // anything but 201 and 503 (should stay empty)
  std::vector<std::string> bad_201_bodies;  // 201 bodies that were not exactly {"id":N}
  std::string end;                  // why the thread ended ("stopped" or a client error)
};

struct LoadOptions {
  int connections = 8;
  int pipeline = 1;            // requests sent before the answers are read
  std::string tag = "load";    // prefix of every body's tag
  size_t pad_bytes = 0;        // extra bytes in each body's tag (to fill a disk faster)
};

class LoadDriver {
 public:
  LoadDriver(uint16_t port, LoadOptions options);
  ~LoadDriver();  // stop() (never asserts)
  LoadDriver(const LoadDriver&) = delete;
  LoadDriver& operator=(const LoadDriver&) = delete;

  // 201s read so far, over all connections.
  uint64_t acked() const { return acked_.load(std::memory_order_relaxed); }
  uint64_t unavailable() const { return unavailable_.load(std::memory_order_relaxed); }
  // Waits until acked() >= n; false at the deadline or when every thread has ended.
  bool wait_acked(uint64_t n, int timeout_ms) const;
  // Asks the threads to end after the answers they are owed, and joins them. Idempotent.
  void stop();
  // Valid after stop() (or after the server died and stop() joined the threads).
  const std::vector<ConnectionLog>& logs() const { return logs_; }
  // Every acknowledged id with its body; REQUIREs that no id was acknowledged twice.
  IdBodies acked_ids() const;

 private:
  void run(int index);

  uint16_t port_;
  LoadOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> unavailable_{0};
  std::atomic<int> running_{0};
  std::vector<ConnectionLog> logs_;
  std::vector<std::thread> threads_;
};

// Every record on disk, by id; REQUIREs that no id appears twice.
IdBodies stored_unique(const std::string& data_dir);
// Stops the server cleanly (stop_cleanly), then stored_unique of its data dir.
IdBodies stop_and_read(TestServer& s);

// records / max id of a set of ids (1.0 for an empty set).
double density(const IdBodies& records);

// BUSYRING_FAULTY_BIN, or build/release/busyring-faulty.
std::string faulty_bin();

// Sets an environment variable for the life of the object (the server child inherits it), then
// restores the old value. Only while no other thread reads the environment.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  bool had_ = false;
  std::string old_;
};

// Polls `condition` (every 2 ms) until it holds or timeout_ms passes; returns its last value.
bool wait_until(const std::function<bool()>& condition, int timeout_ms);

// Runs a shell command; returns its exit status (-1 if it could not run), and its combined
// output in `output` when given.
int run_command(const std::string& command, std::string* output = nullptr);

}  // namespace blackbox
