// Other programs the operations tests drive (promtool, a Prometheus server): any executable in a
// child process, stdin from a file, stdout and stderr merged into one pipe that a reader thread
// collects for the life of the process; a raw-socket HTTP GET that reads to EOF (Go's servers
// answer chunked); and a free loopback port for a server that cannot pick its own. Every wait has
// a deadline; destructors SIGKILL and reap what is still running and assert nothing.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.h"

namespace blackbox {

class Program {
 public:
  // argv[0] is the executable's path (no PATH search). REQUIREs that fork succeeds; an exec
  // failure shows as exit status 127.
  explicit Program(std::vector<std::string> argv, const std::string& stdin_path = "/dev/null");
  ~Program();
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  // Waits until the output contains `needle`; false on deadline or end of output.
  bool wait_output(std::string_view needle, int timeout_ms);
  // Waits for the process to end by itself (timed_out set at the deadline; it keeps running).
  ExitStatus wait_exit(int timeout_ms);
  // Sends sig and waits; SIGKILLs at the deadline (then timed_out is set).
  ExitStatus stop(int sig, int timeout_ms);
  bool running() const { return child_->running(); }
  pid_t pid() const { return child_->pid(); }  // for SIGSTOP/SIGCONT
  std::string output() const;

 private:
  void read_loop();
  ExitStatus joined(ExitStatus s);  // once the process is gone, its output is complete

  std::unique_ptr<Child> child_;
  int out_fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;
  bool eof_ = false;
  std::thread reader_;
};

struct HttpReply {
  int status = 0;
  std::string body;  // de-chunked
};
// GET target from 127.0.0.1:port with "Connection: close", read to EOF; nullopt (why in *error)
// on a connect failure, a deadline or an unparsable reply.
std::optional<HttpReply> http_get(uint16_t port, std::string_view target, int timeout_ms,
                                  std::string* error);

// A loopback TCP port that was free a moment ago (bound to 0 and closed): the caller must cope
// with losing it to a race.
uint16_t free_loopback_port();

// The last `max_bytes` of text, for failure messages.
std::string tail(const std::string& text, size_t max_bytes = 4000);

}  // namespace blackbox
