// The service manager's end of $NOTIFY_SOCKET for the black-box tests: a unix datagram socket
// the test binds (a path, or an abstract "@" name, as systemd may use either), collecting every
// message the server sends, in arrival order. Every wait has a deadline.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness.h"

namespace blackbox {

class NotifyListener {
 public:
  // A path socket in dir, or with abstract=true the name "@busyring-test-<pid>-<n>".
  NotifyListener(const TempDir& dir, bool abstract);
  ~NotifyListener();
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  // The value for $NOTIFY_SOCKET.
  const std::string& name() const { return name_; }

  // Receives until a message (since the mark) contains `needle` (true) or the deadline passes.
  bool wait_for(const std::string& needle, int timeout_ms);
  // Everything that arrives within the next timeout_ms.
  void collect(int timeout_ms);
  // Marks what has arrived so far as seen: wait_for, and count() with since_mark, look past it.
  void mark() { seen_ = messages_.size(); }
  size_t count(const std::string& needle, bool since_mark) const;
  static constexpr size_t npos = static_cast<size_t>(-1);
  size_t index_of(const std::string& needle, size_t from = 0) const;
  const std::vector<std::string>& messages() const { return messages_; }
  std::string all() const;  // for failure messages

 private:
  bool receive(int64_t deadline_ms);

  int fd_ = -1;
  std::string name_;
  std::vector<std::string> messages_;
  size_t seen_ = 0;
};

}  // namespace blackbox
