// Logging to stderr: one line per event worth a human's attention. Each line is written with
// a single write(2) so lines from different shards never interleave. Not for the request path.
#pragma once

namespace busyring::base {

enum class Level { info, warn, error };

// printf-style; the line gets a timestamp, level and a trailing newline.
void log(Level level, const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3)));

// Startup problems: prints "busyring: <message>" and nothing else (the line a user reads).
void print_fatal(const char* fmt, ...) noexcept __attribute__((format(printf, 1, 2)));

}  // namespace busyring::base

#define BR_LOG_INFO(...) ::busyring::base::log(::busyring::base::Level::info, __VA_ARGS__)
#define BR_LOG_WARN(...) ::busyring::base::log(::busyring::base::Level::warn, __VA_ARGS__)
#define BR_LOG_ERROR(...) ::busyring::base::log(::busyring::base::Level::error, __VA_ARGS__)
