// Chromium over the DevTools pipe (see chromium.h). The browser is started through bash (dash
// redirects single-digit fds only) so that the two pipe ends land on fds 3 and 4, which
// --remote-debugging-pipe expects.
#include "chromium.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <simdjson.h>

namespace blackbox {
namespace {

std::string_view text_of(simdjson::dom::element e, const char* key) {
  std::string_view v;
  return e[key].get(v) == simdjson::SUCCESS ? v : std::string_view{};
}

}  // namespace

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string base64_decode(const std::string& text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  bool valid = true;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    if (v < 0) {
      valid = false;
      break;
    }
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>(acc >> bits & 0xff);
    }
  }
  REQUIRE(valid);
  return out;
}

Chromium::Chromium(const TempDir& dir) {
  INFO(kChromium << " (Debian package chromium)");
  REQUIRE(access(kChromium, X_OK) == 0);
  int commands[2], answers[2];
  REQUIRE(pipe2(commands, O_CLOEXEC) == 0);
  REQUIRE(pipe2(answers, O_CLOEXEC) == 0);
  // The browser's ends are inherited (F_DUPFD leaves them open across exec), above 4 so the
  // shell's 3<&N 4>&M cannot clobber one with the other, and moved to 3 and 4 by the shell.
  const int browser_in = fcntl(commands[0], F_DUPFD, 10);
  const int browser_out = fcntl(answers[1], F_DUPFD, 10);
  REQUIRE(browser_in >= 10);
  REQUIRE(browser_out >= 10);
  close(commands[0]);
  close(answers[1]);
  log_path_ = dir.sub("chromium.log");
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(log_fd >= 0);
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  REQUIRE(null_fd >= 0);
  std::string flags = "--headless --disable-gpu --no-first-run --disable-background-networking "
                      "--disable-component-update --disable-sync --disable-extensions --mute-audio "
                      "--hide-scrollbars --force-device-scale-factor=1 --remote-debugging-pipe "
                      "--user-data-dir=" + dir.sub("chromium-profile");
  if (geteuid() == 0) flags += " --no-sandbox";  // Chromium refuses to run as root with its sandbox
  const std::string script = "exec " + std::string(kChromium) + " " + flags + " about:blank 3<&" +
                             std::to_string(browser_in) + " 4>&" + std::to_string(browser_out) + " " +
                             std::to_string(browser_in) + "<&- " + std::to_string(browser_out) + ">&-";
  child_ = std::make_unique<Child>(std::vector<std::string>{"/bin/bash", "-c", script}, null_fd, log_fd, log_fd);
  close(browser_in);
  close(browser_out);
  close(log_fd);
  close(null_fd);
  to_browser_ = commands[1];
  from_browser_ = answers[0];
  // The page that about:blank opened, attached with its own session.
  const std::string targets = call("Target.getTargets", "{}", false);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(targets).get(doc) == simdjson::SUCCESS);
  std::string target;
  for (simdjson::dom::element t : doc["targetInfos"].get_array())
    if (text_of(t, "type") == "page") target = std::string(text_of(t, "targetId"));
  INFO(targets);
  REQUIRE(!target.empty());
  const std::string attached =
      call("Target.attachToTarget", "{\"targetId\":" + json_quote(target) + ",\"flatten\":true}", false);
  REQUIRE(parser.parse(attached).get(doc) == simdjson::SUCCESS);
  session_ = std::string(text_of(doc, "sessionId"));
  REQUIRE(!session_.empty());
  for (const char* domain : {"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"}) call(domain, "{}");
}

Chromium::~Chromium() {
  if (to_browser_ >= 0) {
    const std::string close_msg = "{\"id\":999999,\"method\":\"Browser.close\"}";
    (void)!write(to_browser_, close_msg.c_str(), close_msg.size() + 1);
    child_->wait_exit(5'000);
    close(to_browser_);
  }
  if (from_browser_ >= 0) close(from_browser_);
  child_.reset();  // SIGKILLs it if still running
}

std::string Chromium::log() const {
  std::ifstream f(log_path_);
  std::stringstream s;
  s << f.rdbuf();
  return tail(s.str(), 3000);
}

bool Chromium::read_message(int64_t deadline_ms, std::string& out) {
  while (true) {
    const size_t nul = buffer_.find('\0');
    if (nul != std::string::npos) {
      out = buffer_.substr(0, nul);
      buffer_.erase(0, nul + 1);
      return true;
    }
    const int64_t left = deadline_ms - now_ms();
    if (left <= 0) return false;
    pollfd p{from_browser_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char buf[65536];
    const ssize_t n = read(from_browser_, buf, sizeof buf);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

void Chromium::on_event(const std::string& message) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(message).get(doc) != simdjson::SUCCESS) return;
  const std::string method(text_of(doc, "method"));
  if (method.empty()) return;
  events_.push_back(method);
  simdjson::dom::element params;
  if (doc["params"].get(params) != simdjson::SUCCESS) return;
  if (method == "Runtime.exceptionThrown") problems_.push_back("exception: " + message);
  if (method == "Runtime.consoleAPICalled" && text_of(params, "type") == "error") problems_.push_back("console: " + message);
  if (method == "Log.entryAdded" && text_of(params["entry"], "level") == "error") problems_.push_back("log: " + message);
  if (method == "Network.requestWillBeSent") requested_.emplace_back(text_of(params["request"], "url"));
  if (method == "Network.loadingFailed") problems_.push_back("load failed: " + message);
}

std::string Chromium::call(const std::string& method, const std::string& params, bool in_page) {
  const int id = next_id_++;
  std::string msg = "{\"id\":" + std::to_string(id) + ",\"method\":" + json_quote(method) + ",\"params\":" + params;
  if (in_page) msg += ",\"sessionId\":" + json_quote(session_);
  msg += "}";
  msg.push_back('\0');
  size_t off = 0;
  while (off < msg.size()) {
    const ssize_t n = write(to_browser_, msg.data() + off, msg.size() - off);
    if (n <= 0) FAIL("cannot write to chromium (" << method << "):\n" << log());
    off += static_cast<size_t>(n);
  }
  const int64_t deadline = now_ms() + 30'000;
  std::string answer;
  while (true) {
    if (!read_message(deadline, answer)) FAIL(method << ": no answer from chromium\n" << log());
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(answer).get(doc) == simdjson::SUCCESS);
    int64_t got = 0;
    if (doc["id"].get(got) != simdjson::SUCCESS) {
      on_event(answer);
      continue;
    }
    if (got != id) continue;
    simdjson::dom::element result;
    if (doc["result"].get(result) != simdjson::SUCCESS) FAIL(method << " failed: " << answer);
    return simdjson::to_string(result);
  }
}

bool Chromium::wait_event(const std::string& method, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  for (size_t seen = 0;; ) {
    for (; seen < events_.size(); ++seen)
      if (events_[seen] == method) return true;
    std::string message;
    if (!read_message(deadline, message)) return false;
    on_event(message);
  }
}

void Chromium::open(const std::string& url, int width, int height) {
  call("Emulation.setDeviceMetricsOverride", "{\"width\":" + std::to_string(width) + ",\"height\":" +
                                                 std::to_string(height) + ",\"deviceScaleFactor\":1,\"mobile\":false}");
  events_.clear();
  call("Page.navigate", "{\"url\":" + json_quote(url) + "}");
  if (!wait_event("Page.loadEventFired", 30'000)) FAIL("no load event for " << url << "\n" << log());
}

std::string Chromium::evaluate(const std::string& expression) {
  const std::string result =
      call("Runtime.evaluate", "{\"expression\":" + json_quote(expression) + ",\"returnByValue\":true}");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(result).get(doc) == simdjson::SUCCESS);
  simdjson::dom::element thrown;
  INFO(expression << " threw: " << result);
  REQUIRE(doc["exceptionDetails"].get(thrown) == simdjson::NO_SUCH_FIELD);
  simdjson::dom::element value;
  if (doc["result"]["value"].get(value) != simdjson::SUCCESS) return "null";
  return simdjson::to_string(value);
}

std::string Chromium::screenshot() {
  const std::string result = call("Page.captureScreenshot", "{\"format\":\"png\"}");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(result).get(doc) == simdjson::SUCCESS);
  return base64_decode(std::string(text_of(doc, "data")));
}

}  // namespace blackbox
