// busyring-log on a terminal (issue 19): with stderr a pseudo-terminal, verify, export and
// salvage draw a progress line there (done of total, rate; redrawn in place with "\r", cleared
// at the end) and print exactly the same result on stdout as with stderr on a pipe, where
// stderr stays empty. The log is a real server's, several segments long.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "child.h"
#include "harness.h"
#include "load_driver.h"

using namespace blackbox;

namespace {

struct ToolRun {
  ExitStatus status;
  std::string out;
  std::string err;
};

std::string log_tool() {
  const std::string bin = server_bin();
  const size_t slash = bin.rfind('/');
  return (slash == std::string::npos ? std::string(".") : bin.substr(0, slash)) + "/busyring-log";
}

// Runs busyring-log with stdout on a pipe and stderr on a pty (terminal) or a pipe; reads both
// while it runs (export writes more than a pipe holds).
ToolRun run(const std::vector<std::string>& args, bool terminal) {
  int out[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  int err_read = -1, err_write = -1;
  if (terminal) {
    REQUIRE(openpty(&err_read, &err_write, nullptr, nullptr, nullptr) == 0);
    REQUIRE(fcntl(err_read, F_SETFD, FD_CLOEXEC) == 0);
    REQUIRE(fcntl(err_write, F_SETFD, FD_CLOEXEC) == 0);
  } else {
    int err[2];
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    err_read = err[0];
    err_write = err[1];
  }
  std::vector<std::string> argv = {log_tool()};
  argv.insert(argv.end(), args.begin(), args.end());
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  Child child(argv, devnull, out[1], err_write);
  close(devnull);
  close(out[1]);
  close(err_write);
  ToolRun r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err_read, POLLIN, 0}};
  const int64_t deadline = now_ms() + 60'000;
  while ((fds[0].fd >= 0 || fds[1].fd >= 0) && now_ms() < deadline) {
    if (poll(fds, 2, 1000) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[65536];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {  // EOF, or EIO from a pty whose other side is closed
        close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
    }
  }
  for (const pollfd& p : fds)
    if (p.fd >= 0) close(p.fd);
  r.status = child.wait_exit(10'000);
  return r;
}

// A server's log over several 1 MiB segments.
void fill_log(const std::string& data_dir) {
  auto server = start_server(data_dir, {"--threads", "1"});
  {
    LoadDriver load(server->port(), LoadOptions{4, 8, "progress", 600});
    REQUIRE(load.wait_acked(6000, 60'000));
    load.stop();
  }
  REQUIRE(server->stop().code == 0);
}

}  // namespace

TEST_CASE("busyring-log verify, export and salvage show progress on a terminal only", "[blackbox][logtool]") {
  REQUIRE(access(log_tool().c_str(), X_OK) == 0);
  TempDir dir;
  const std::string data = dir.sub("data");
  fill_log(data);
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> shown;  // on the terminal
  };
  const std::vector<Case> cases = {
      {{"verify", data}, {"verify: "}},
      {{"export", data, "--format", "csv"}, {"export: reading: ", "export: writing: "}},
      {{"salvage", data}, {"salvage: "}},
  };
  for (const Case& c : cases) {
    INFO("busyring-log " << c.args[0]);
    const ToolRun piped = run(c.args, false);
    const ToolRun tty = run(c.args, true);
    INFO("piped stderr: " << piped.err << "\nterminal stderr: " << tty.err);
    CHECK(piped.status.code == 0);
    CHECK(tty.status.code == 0);
    CHECK(piped.err.empty());
    CHECK(!piped.out.empty());
    CHECK(tty.out == piped.out);
    for (const std::string& s : c.shown) {
      const size_t at = tty.err.find("\r\033[K" + s);
      REQUIRE(at != std::string::npos);
      // "X of Y MiB (P%)" or "X of Y records (P%)", then the rate once something is done.
      CHECK(tty.err.find(" of ", at) != std::string::npos);
      CHECK(tty.err.find("%)", at) != std::string::npos);
    }
    CHECK(tty.err.find("MiB/s") != std::string::npos);
    CHECK(tty.err.find('\n') == std::string::npos);  // redrawn in place, never a new line
    CHECK(tty.err.size() >= 4);
    CHECK(tty.err.compare(tty.err.size() - 4, 4, "\r\033[K") == 0);  // cleared at the end
  }
}

// retire reads each sealed segment whole before it deletes it: the same line on a terminal.
// Retiring deletes, so the terminal and the pipe each get their own copy of one log, exported
// and committed alike; the result (stdout, and the summary on stderr) is the same for both.
TEST_CASE("busyring-log retire shows progress on a terminal only", "[blackbox][logtool]") {
  REQUIRE(access(log_tool().c_str(), X_OK) == 0);
  TempDir dir;
  const std::string piped_data = dir.sub("piped");
  const std::string tty_data = dir.sub("tty");
  fill_log(piped_data);
  REQUIRE(run_command("cp -a " + piped_data + " " + tty_data) == 0);
  for (const std::string& data : {piped_data, tty_data}) {
    const std::string checkpoint = data + ".checkpoint";
    const ToolRun exported = run({"export", data, "--since-checkpoint", checkpoint, "--settle", "0"}, false);
    INFO(exported.err);
    REQUIRE(exported.status.code == 0);
    REQUIRE(run({"checkpoint", "commit", checkpoint}, false).status.code == 0);
  }
  const ToolRun piped = run({"retire", piped_data, "--checkpoint", piped_data + ".checkpoint"}, false);
  const ToolRun tty = run({"retire", tty_data, "--checkpoint", tty_data + ".checkpoint"}, true);
  INFO("piped stdout: " << piped.out << "piped stderr: " << piped.err << "\nterminal stderr: " << tty.err);
  CHECK(piped.status.code == 0);
  CHECK(tty.status.code == 0);
  // Something was retired (a segment read whole), the same count in both.
  REQUIRE(piped.out.rfind(piped_data + ": ", 0) == 0);
  CHECK(tty.out == tty_data + piped.out.substr(piped_data.size()));
  const std::string summary = "busyring-log: retire: ";
  CHECK(piped.err.rfind(summary, 0) == 0);  // off a terminal, nothing but the result
  CHECK(piped.err.find('\r') == std::string::npos);
  // On the terminal: the line ("retire: X of Y MiB (P%), R MiB/s"), cleared, then the same summary.
  const size_t at = tty.err.find("\r\033[Kretire: ");
  REQUIRE(at != std::string::npos);
  CHECK(tty.err.find(" of ", at) != std::string::npos);
  CHECK(tty.err.find("%)", at) != std::string::npos);
  CHECK(tty.err.find("MiB/s", at) != std::string::npos);
  const size_t cleared = tty.err.rfind("\r\033[K");
  REQUIRE(cleared != std::string::npos);
  // The pty turns "\n" into "\r\n".
  CHECK(tty.err.substr(cleared + 4).rfind(summary, 0) == 0);
  CHECK(tty.err.find('\n') == tty.err.size() - 1);  // one line of result, after the progress
}
