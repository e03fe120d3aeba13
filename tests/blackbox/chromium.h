// A real headless Chromium (Debian's `chromium`) for the black-box tests, driven over the
// DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 carries our commands, fd 4 its
// answers and events, each message one JSON text ending in a NUL byte). One page; it records
// every URL the page requests and every problem it reports (an exception, a console error, a
// blocked load), so a test can assert there were none. Every wait has a deadline.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "child.h"
#include "harness.h"
#include "program.h"

namespace blackbox {

inline constexpr const char* kChromium = "/usr/bin/chromium";

class Chromium {
 public:
  // Starts the browser with its profile in dir; REQUIREs that it answers.
  explicit Chromium(const TempDir& dir);
  ~Chromium();  // Browser.close, then SIGKILL what is left; asserts nothing
  Chromium(const Chromium&) = delete;
  Chromium& operator=(const Chromium&) = delete;

  // Loads url in a page of width x height CSS pixels; REQUIREs the load event.
  void open(const std::string& url, int width, int height);
  // The value of a JS expression in the page (JSON.stringify'd by the caller as needed): the
  // raw JSON of CDP's result.value. REQUIREs that it did not throw.
  std::string evaluate(const std::string& expression);
  // The page as PNG bytes.
  std::string screenshot();
  const std::vector<std::string>& problems() const { return problems_; }
  const std::vector<std::string>& requested() const { return requested_; }
  std::string log() const;  // the browser's own stderr, for failure messages

 private:
  // Sends a command (to the page's session when in_page) and returns the raw JSON of its result.
  std::string call(const std::string& method, const std::string& params, bool in_page = true);
  // Reads one message (false at the deadline or EOF) and files its events.
  bool read_message(int64_t deadline_ms, std::string& out);
  void on_event(const std::string& message);
  bool wait_event(const std::string& method, int timeout_ms);

  std::unique_ptr<Child> child_;
  int to_browser_ = -1;
  int from_browser_ = -1;
  std::string log_path_;
  std::string buffer_;
  std::string session_;
  int next_id_ = 1;
  std::vector<std::string> events_;  // methods seen, in order
  std::vector<std::string> problems_;
  std::vector<std::string> requested_;
};

// A JSON string literal for s (quotes included).
std::string json_quote(const std::string& s);
// Standard base64 (with padding) to bytes; REQUIREs valid input.
std::string base64_decode(const std::string& text);

}  // namespace blackbox
