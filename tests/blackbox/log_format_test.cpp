// The server's log lines as journald and log shippers read them: with stderr the journal
// ($JOURNAL_STREAM naming stderr's dev:inode, as systemd sets it) every line starts with its
// syslog priority and carries no timestamp of ours, the fatal start-up line included; a
// JOURNAL_STREAM naming something else changes nothing; --log-format json writes one valid
// JSON object per line (ts, level, msg, fields); --log-level drops the lines below it.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <simdjson.h>

#include <catch2/catch.hpp>

#include "child.h"
#include "harness.h"
#include "load_driver.h"
#include "notify_listener.h"

using namespace blackbox;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The server with stderr on a pipe whose dev:inode JOURNAL_STREAM names (or a different value),
// as systemd connects a service's stderr to the journal. The whole stderr once it has exited.
class JournalRun {
 public:
  JournalRun(std::vector<std::string> args, bool matching) {
    int p[2];
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    struct stat st {};
    REQUIRE(fstat(p[1], &st) == 0);
    const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + (matching ? 0 : 1));
    ScopedEnv journal("JOURNAL_STREAM", stream);
    args.insert(args.begin(), server_bin());
    const int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    REQUIRE(devnull >= 0);
    child_ = std::make_unique<Child>(std::move(args), devnull, devnull, p[1]);
    close(devnull);
    close(p[1]);
    fd_ = p[0];
  }
  ~JournalRun() {
    if (fd_ >= 0) close(fd_);
  }
  // Reads stderr until it contains needle (true) or the deadline / EOF (false).
  bool wait_for(const std::string& needle, int timeout_ms) {
    const int64_t deadline = now_ms() + timeout_ms;
    while (err_.find(needle) == std::string::npos) {
      const int64_t left = deadline - now_ms();
      if (left <= 0) return false;
      pollfd pfd{fd_, POLLIN, 0};
      if (poll(&pfd, 1, static_cast<int>(left)) <= 0) return false;
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return false;
      err_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  ExitStatus stop_and_read(int sig) {
    const ExitStatus st = sig == 0 ? child_->wait_exit(10'000) : child_->stop(sig, 15'000);
    char buf[4096];
    for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) err_.append(buf, static_cast<size_t>(n));
    return st;
  }
  const std::string& err() const { return err_; }

 private:
  std::unique_ptr<Child> child_;
  int fd_ = -1;
  std::string err_;
};

}  // namespace

TEST_CASE("with stderr the journal, each line starts with its syslog priority and has no timestamp",
          "[blackbox][logs]") {
  TempDir dir;
  // A NOTIFY_SOCKET that is no unix socket: one warning, at priority 4.
  ScopedEnv notify("NOTIFY_SOCKET", "not-a-socket");
  JournalRun run({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "2", "--log-level", "debug"}, true);
  REQUIRE(run.wait_for("listening on", 10'000));
  // A second server on the same data dir: its fatal line is an error (<3>).
  JournalRun second({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "1"}, true);
  const ExitStatus second_status = second.stop_and_read(0);
  CHECK(second_status.code == 1);
  const ExitStatus st = run.stop_and_read(SIGTERM);
  INFO("stderr:\n" << run.err() << "\nsecond:\n" << second.err());
  CHECK(st.exited);
  CHECK(st.code == 0);
  const std::regex shape("<([3467])>[^<].*");
  std::set<std::string> priorities;
  for (const std::string& line : lines_of(run.err())) {
    INFO("line: " << line);
    std::smatch m;
    REQUIRE(std::regex_match(line, m, shape));
    priorities.insert(m[1]);
    CHECK_FALSE(std::regex_search(line, std::regex("^<\\d>\\d{4}-\\d\\d-\\d\\dT")));  // no timestamp of ours
  }
  CHECK(run.err().find("<6>listening on ") != std::string::npos);
  CHECK(run.err().find("<4>NOTIFY_SOCKET=not-a-socket is not a unix socket path") != std::string::npos);
  CHECK(run.err().find("<7>shard 1: CPU ") != std::string::npos);
  CHECK(priorities == std::set<std::string>{"4", "6", "7"});
  const auto fatal = lines_of(second.err());
  REQUIRE(fatal.size() == 1);
  CHECK(fatal[0].rfind("<3>busyring: another busyring is using ", 0) == 0);
}

TEST_CASE("a JOURNAL_STREAM that names another file leaves the lines as text with timestamps", "[blackbox][logs]") {
  TempDir dir;
  JournalRun run({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "1"}, false);
  REQUIRE(run.wait_for("listening on", 10'000));
  run.stop_and_read(SIGTERM);
  INFO("stderr:\n" << run.err());
  const std::regex text_line("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z (info|warn) .+");
  const auto lines = lines_of(run.err());
  REQUIRE(lines.size() >= 3);
  for (const std::string& line : lines) {
    INFO("line: " << line);
    CHECK(std::regex_match(line, text_line));
  }
}

TEST_CASE("--log-format json writes one JSON object per line: ts, level, msg, fields", "[blackbox][logs]") {
  TempDir dir;
  auto server = std::make_unique<ServerProcess>(std::vector<std::string>{
      "--port", "0", "--data-dir", dir.sub("data"), "--threads", "2", "--log-format", "json", "--log-interval", "200ms"});
  REQUIRE(server->wait_stderr("req/s", 10'000));
  // The fatal line of a second server on the same dir, in JSON too.
  ServerProcess second({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "1", "--log-format", "json"});
  CHECK(second.wait_exit(10'000).code == 1);
  server->stop(SIGTERM);
  const std::string err = server->stderr_text() + second.stderr_text();
  INFO("stderr:\n" << err);
  simdjson::dom::parser parser;
  const std::regex ts("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
  bool listening = false, fatal = false, interval = false;
  for (const std::string& line : lines_of(err)) {
    INFO("line: " << line);
    simdjson::dom::object obj;
    REQUIRE(parser.parse(line).get(obj) == simdjson::SUCCESS);
    std::string_view t, level, msg;
    REQUIRE(obj["ts"].get(t) == simdjson::SUCCESS);
    REQUIRE(obj["level"].get(level) == simdjson::SUCCESS);
    REQUIRE(obj["msg"].get(msg) == simdjson::SUCCESS);
    CHECK(std::regex_match(std::string(t), ts));
    CHECK((level == "info" || level == "warn" || level == "error"));
    size_t keys = 0;
    for (auto field : obj) {
      (void)field;
      ++keys;
    }
    simdjson::dom::object fields;
    const bool has_fields = obj["fields"].get(fields) == simdjson::SUCCESS;
    CHECK(keys == (has_fields ? 4u : 3u));
    if (msg.rfind("listening on ", 0) == 0) {
      listening = true;
      REQUIRE(has_fields);
      uint64_t port = 0;
      CHECK(fields["port"].get(port) == simdjson::SUCCESS);
      std::string_view bind;
      CHECK(fields["bind"].get(bind) == simdjson::SUCCESS);
      // The default --bind :: ("[::]:PORT"), or 0.0.0.0 where the kernel has no IPv6: the
      // fields name the address the message prints.
      CHECK((bind == "::" || bind == "0.0.0.0"));
      const std::string host = bind == "::" ? "[::]" : std::string(bind);
      CHECK(msg == "listening on " + host + ":" + std::to_string(port));
    }
    if (msg.rfind("another busyring is using ", 0) == 0) {
      fatal = true;
      CHECK(level == "error");
    }
    if (msg.find(" req/s, ") != std::string_view::npos) {
      interval = true;
      REQUIRE(has_fields);
      uint64_t rate = 0, connections = 0;
      CHECK(fields["requests_per_second"].get(rate) == simdjson::SUCCESS);
      CHECK(fields["connections"].get(connections) == simdjson::SUCCESS);
    }
  }
  CHECK(listening);
  CHECK(fatal);
  CHECK(interval);
}

TEST_CASE("--log-level drops the lines below it; debug adds its own", "[blackbox][logs]") {
  TempDir dir;
  NotifyListener manager(dir, false);
  ScopedEnv notify("NOTIFY_SOCKET", manager.name());
  SECTION("error: a clean start and stop write nothing") {
    ServerProcess p({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "1", "--log-level", "error"});
    REQUIRE(manager.wait_for("READY=1", 10'000));
    const ExitStatus st = p.stop(SIGTERM);
    CHECK(st.code == 0);
    CHECK(p.stderr_text().empty());
  }
  SECTION("info (the default) has no debug lines; debug has them") {
    ServerProcess info({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "1"});
    REQUIRE(info.wait_listening());
    info.stop(SIGTERM);
    CHECK(info.stderr_text().find(" debug ") == std::string::npos);
    ServerProcess debug({"--port", "0", "--data-dir", dir.sub("data"), "--threads", "1", "--log-level", "debug"});
    REQUIRE(debug.wait_listening());
    debug.stop(SIGTERM);
    CHECK(debug.stderr_text().find(" debug shard 0: CPU ") != std::string::npos);
  }
}
