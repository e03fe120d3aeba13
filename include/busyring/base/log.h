// Logging to stderr: one line per event worth a human's attention. Each line is written with
// a single write(2) so lines from different shards never interleave. Not for the request path.
//
// Three shapes of line, chosen once at start (configure_log) and read-only afterwards:
//   text      2026-12-07T14:50:24.388Z warn <message>
//   journal   <4><message>         stderr is the journal ($JOURNAL_STREAM names stderr's
//                                  dev:inode): the syslog priority prefix, no timestamp (the
//                                  journal keeps its own), whatever the format
//   json      {"ts":"...","level":"warn","msg":"...","fields":{...}}   (--log-format json)
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace busyring::base {

enum class Level : uint8_t { debug, info, warn, error };
enum class LogFormat : uint8_t { text, json };

const char* level_name(Level level) noexcept;  // "debug", "info", "warn", "error"
int syslog_priority(Level level) noexcept;     // 7, 6, 4, 3
// "debug|info|warn|error" and "text|json"; false for anything else.
[[nodiscard]] bool parse_level(std::string_view text, Level& out) noexcept;
[[nodiscard]] bool parse_log_format(std::string_view text, LogFormat& out) noexcept;

// A structured field of a line: JSON lines carry them under "fields" (text lines say the same
// in their prose). Strings are escaped; numbers are written as JSON numbers.
struct LogField {
  LogField(const char* k, std::string_view v) noexcept : key(k), text(v), is_number(false) {}
  LogField(const char* k, uint64_t v) noexcept : key(k), number(v), is_number(true) {}
  const char* key;
  std::string_view text;
  uint64_t number = 0;
  bool is_number;
};

struct LineStyle {
  LogFormat format = LogFormat::text;
  bool journal = false;
};

// Formats one line (with its trailing newline) into out; returns its length. A message or
// field too long for cap is cut at a character boundary and the line stays well-formed (JSON
// stays valid). cap must be at least 256. Pure: what log() writes, for the unit tests.
size_t format_line(char* out, size_t cap, const LineStyle& style, Level level, uint64_t wall_ns,
                   std::string_view msg, std::initializer_list<LogField> fields) noexcept;

// Appends s to out as the inside of a JSON string: ", \ and control characters escaped,
// invalid UTF-8 replaced by U+FFFD. Stops before the first character that would not fit in
// cap; returns the new length.
size_t json_escape(char* out, size_t len, size_t cap, std::string_view s) noexcept;

// True when $JOURNAL_STREAM names the device and inode of fd 2 (systemd connects stderr to
// the journal and says so there).
bool stderr_is_journal() noexcept;

// Sets the format and the least level written. Call before any thread but the caller logs.
// Until then: text, info, journal detected from the environment.
void configure_log(LogFormat format, Level min_level) noexcept;
bool log_enabled(Level level) noexcept;

// printf-style; the line gets a timestamp (text, json), a level and a trailing newline.
void log(Level level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));
void log_with(Level level, std::initializer_list<LogField> fields, const char* fmt, ...) noexcept
    __attribute__((format(printf, 3, 4)));

// Startup problems: "busyring: <message>" (the line a user reads) as text; at priority error
// in the journal ("<3>busyring: ..."); level "error" in JSON.
void print_fatal(const char* fmt, ...) noexcept __attribute__((format(printf, 1, 2)));

}  // namespace busyring::base

#define BR_LOG_DEBUG(...) ::busyring::base::log(::busyring::base::Level::debug, __VA_ARGS__)
#define BR_LOG_INFO(...) ::busyring::base::log(::busyring::base::Level::info, __VA_ARGS__)
#define BR_LOG_WARN(...) ::busyring::base::log(::busyring::base::Level::warn, __VA_ARGS__)
#define BR_LOG_ERROR(...) ::busyring::base::log(::busyring::base::Level::error, __VA_ARGS__)
