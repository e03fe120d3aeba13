// A child process for the black-box tests: fork/exec with the standard streams the caller
// chooses, PR_SET_PDEATHSIG so a crashed test run leaves nothing behind, and waits on a pidfd
// with a deadline. Reaped once; the destructor SIGKILLs and reaps one still running and asserts
// nothing. ServerProcess (harness.h) and Program (program.h) each own one.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace blackbox {

struct ExitStatus {
  bool exited = false;  // exited normally (code valid)
  int code = -1;
  int signal = 0;       // the signal that ended it, when !exited
  bool timed_out = false;
};
std::string describe(const ExitStatus& s);

class Child {
 public:
  // argv[0] is the executable's path (no PATH search); the child's stdin, stdout and stderr
  // become the given fds. REQUIREs that fork succeeds; an exec failure shows as exit code 127.
  Child(std::vector<std::string> argv, int stdin_fd, int stdout_fd, int stderr_fd);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return !reaped_; }
  // Waits for the process to end by itself (timed_out set at the deadline; it keeps running).
  ExitStatus wait_exit(int timeout_ms);
  // Sends sig and waits; SIGKILLs at the deadline (then timed_out is set).
  ExitStatus stop(int sig, int timeout_ms);
  // SIGKILL and reap at once, if still running (for destructors).
  void kill_now();

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  bool reaped_ = false;
  ExitStatus status_;
};

}  // namespace blackbox
