// The cluster tests' load through the front: keep-alive connections, one thread each, posting
// usages through HAProxy, reconnecting after errors, and keeping every answer (201s with their
// ids and bodies, 503s by error code, anything else as an error) for the checks.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "load_driver.h"

namespace blackbox::cluster {

// What one connection of FrontLoad saw.
struct FrontError {
  int64_t at_ms = 0;
  int status = 0;      // 0: the connection failed (reset, EOF) with the request unanswered
  std::string detail;  // the client's error, or the body
};
struct FrontLog {
  std::vector<Ack> acked;
  uint64_t unavailable = 0;  // 503s
  uint64_t unavailable_without_retry_after = 0;
  std::map<std::string, uint64_t> unavailable_codes;  // 503s by "error" code
  std::vector<FrontError> errors;                      // anything else
  uint64_t reconnects = 0;
};

struct FrontLoadOptions {
  int connections = 16;
  std::string tag = "front";
  uint64_t budget = 0;       // total requests to send over all connections (0: until stop())
  int pause_after_503_ms = 20;  // a polite client waits on Retry-After; shortened here
};

// Posts through the front over keep-alive connections, one thread each; a connection that
// fails is counted (with the request it carried) and opened again.
class FrontLoad {
 public:
  FrontLoad(uint16_t port, FrontLoadOptions options);
  ~FrontLoad();  // stop()
  FrontLoad(const FrontLoad&) = delete;
  FrontLoad& operator=(const FrontLoad&) = delete;

  uint64_t acked() const { return acked_.load(std::memory_order_relaxed); }
  uint64_t unavailable() const { return unavailable_.load(std::memory_order_relaxed); }
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  // acked() >= n within the deadline (false early when every thread has ended).
  bool wait_acked(uint64_t n, int timeout_ms) const;
  bool wait_unavailable(uint64_t n, int timeout_ms) const;
  // With a budget: waits until every thread has sent its share and read the answers.
  bool wait_done(int timeout_ms) const;
  void stop();
  const std::vector<FrontLog>& logs() const { return logs_; }  // after stop()
  IdBodies acked_ids() const;  // REQUIREs that no id was acknowledged twice

 private:
  void run(int index);

  uint16_t port_;
  FrontLoadOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> unavailable_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<int> running_{0};
  std::vector<FrontLog> logs_;
  std::vector<std::thread> threads_;
};

}  // namespace blackbox::cluster
