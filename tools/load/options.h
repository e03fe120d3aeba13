// Command-line options of busyring-load: the Options struct, its flag table (base/flags.h:
// parsing and --help from one table, in the dialect of every busyring tool) and the --url
// splitter. Parsing is pure (no I/O) so it is unit-tested; main() prints the error line and
// exits 2 on a bad flag.
#pragma once

#include <cstdint>
#include <string>

namespace busyring::load {

enum class Method : uint8_t { get, post };

struct Url {
  std::string host;  // without IPv6 brackets
  std::string port;  // decimal
  std::string path;  // starts with '/'
  std::string authority;  // host[:port] as written, for the Host header
};

struct Options {
  double rate = 0;  // requests/s over all connections; 0 = closed loop
  uint32_t connections = 64;
  double duration_s = 10;
  double timeout_s = 2;
  double batch_us = 250;  // open loop: send requests due within this many us together
  uint32_t pipeline = 1;
  uint32_t threads = 1;
  Method method = Method::post;
  std::string url = "http://127.0.0.1:3000/api/usages";
  std::string body = "data.json";
  uint32_t batch = 0;  // > 0: POST a JSON array of this many copies of the body (issue 20)
  std::string ids_out;
  std::string hist_out;
  bool json = false;
};

enum class ParseOutcome : uint8_t { run, help, version, error };

// Fills *out from argv; on `error`, *error holds one line saying what is wrong.
[[nodiscard]] ParseOutcome parse_options(int argc, const char* const* argv, Options* out,
                                         std::string* error);
[[nodiscard]] std::string usage_text();
// Splits http://HOST[:PORT][/PATH]; false (and *error) if it is not such a URL.
[[nodiscard]] bool parse_url(const std::string& url, Url* out, std::string* error);

}  // namespace busyring::load
