// Black-box harness: the real busyring binary in a child process (ServerProcess), a temporary
// data directory (TempDir), a blocking raw-socket HTTP/1.1 client (Client), and a reader that
// decodes every record of a data dir with the server's own codec. Every wait has a deadline;
// nothing sleeps. Destructors never assert (they also run while a failed test unwinds).
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
#include <utility>
#include <vector>

#include "child.h"

namespace blackbox {

// BUSYRING_BIN, or build/release/busyring relative to the cwd.
std::string server_bin();

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The server binary, started with args; stdout and stderr go to pipes that a reader thread
// collects for the life of the process.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Waits for "listening on HOST:PORT" on stderr; false if the process exits first or the
  // deadline passes. Sets port().
  bool wait_listening(int timeout_ms = 10'000);
  // Waits until stderr contains `needle`; false on deadline or end of output.
  bool wait_stderr(std::string_view needle, int timeout_ms = 10'000);
  // Waits for the process to end by itself.
  ExitStatus wait_exit(int timeout_ms = 10'000);
  // Sends sig and waits for the exit; SIGKILLs at the deadline (then timed_out is set).
  ExitStatus stop(int sig = SIGTERM, int timeout_ms = 15'000);
  ExitStatus kill9();

  uint16_t port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  bool running() const { return child_->running(); }
  std::string stderr_text() const;
  std::string stdout_text() const;

 private:
  void read_loop();
  bool wait_output(std::string_view needle, int timeout_ms);
  ExitStatus joined(ExitStatus s);  // once the process is gone, its output is complete

  std::unique_ptr<Child> child_;
  int out_fd_ = -1;
  int err_fd_ = -1;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;
  std::string err_;
  bool eof_ = false;
  std::thread reader_;
};

// Starts busyring on --port 0 with `data_dir`, --threads 2, --segment-size 1M, then `extra`;
// REQUIREs that it listens.
std::unique_ptr<ServerProcess> start_server(const std::string& data_dir,
                                            std::vector<std::string> extra = {});

// Stops it with `sig` (SIGTERM: a graceful stop) and REQUIREs exit 0, its stderr in the message.
void stop_cleanly(ServerProcess& server, int sig = SIGTERM);

// A server on a fresh temporary data dir (the dir outlives the process): start_server's
// defaults, then `extra`.
struct TestServer {
  explicit TestServer(std::vector<std::string> extra = {});
  TempDir dir;
  std::unique_ptr<ServerProcess> server;
  uint16_t port() const { return server->port(); }
};

struct Response {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::string> header(std::string_view name) const;  // case-insensitive
};

// One TCP connection to 127.0.0.1:port. Responses are read with Content-Length framing; bytes
// past one response stay buffered for the next (pipelining).
class Client {
 public:
  explicit Client(uint16_t port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends every byte (false on error, e.g. the peer reset).
  bool send(std::string_view bytes);
  // One response, or nullopt on EOF/error/deadline (see last_error()). A response to HEAD has
  // no body whatever its Content-Length says (RFC 9112 6.3): pass to_head.
  std::optional<Response> read_response(int timeout_ms = 10'000, bool to_head = false);
  // True when the peer closes (EOF or reset) within the deadline with no further bytes.
  bool closed_by_peer(int timeout_ms = 5'000);
  void shutdown_write();
  // Closes with an RST (SO_LINGER 0), as a crashing client does.
  void reset();
  const std::string& last_error() const { return error_; }
  int fd() const { return fd_; }

 private:
  // Reads more into buf_; 1 bytes read, 0 EOF, -1 error or deadline.
  int fill(int64_t deadline_ms);

  int fd_ = -1;
  std::string buf_;
  std::string error_;
};

// Sends request and REQUIREs one response.
Response roundtrip(Client& c, std::string_view request);
// CHECKs an error response: status, Content-Type application/json, and a JSON body with
// "error" == code and a non-empty "message". Returns the message.
std::string check_error(const Response& r, int status, std::string_view code);

// The usage body with a recognisable tag; valid under the contract.
std::string usage_body(const std::string& tag);
// A full POST /api/usages request for body (Content-Type: application/json).
std::string post_request(std::string_view body, std::string_view extra_headers = "");
std::string get_request(std::string_view target, std::string_view extra_headers = "");
// The id of a 201 body {"id":N}, or 0 if the body is not exactly that.
uint64_t id_of(const Response& r);
// True when body is a JSON object with string "error" and "message"; error code out.
bool is_error_body(const std::string& body, std::string* code = nullptr, std::string* message = nullptr);

struct StoredRecord {
  uint64_t id = 0;
  std::string body;
  uint32_t shard = 0;
};
// Every usage record of every shard-KK of data_dir, read with recover_shard(repair=false).
// REQUIREs that recovery succeeds.
std::vector<StoredRecord> read_records(const std::string& data_dir);

// Monotonic milliseconds.
int64_t now_ms();

}  // namespace blackbox
