// stderr logging: format into a stack buffer, then one write(2) per line.
#include "busyring/base/log.h"

#include <cstdarg>
#include <cstdio>
#include <ctime>

#include "busyring/base/io.h"

namespace busyring::base {
namespace {

const char* level_name(Level level) noexcept {
  switch (level) {
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "?";
}

// Appends the formatted message to the `len` bytes of prefix in buf, ends the line (cut to
// the buffer) and writes it to stderr in one write.
template <size_t Cap>
void finish_line(char (&buf)[Cap], int len, const char* fmt, va_list ap) noexcept {
  if (len < 0) return;
  len += std::vsnprintf(buf + len, Cap - static_cast<size_t>(len), fmt, ap);
  if (len < 0) return;
  if (len >= static_cast<int>(Cap) - 1) len = static_cast<int>(Cap) - 2;
  buf[len++] = '\n';
  (void)write_all(2, buf, static_cast<size_t>(len));  // nowhere to report a failed stderr
}

}  // namespace

void log(Level level, const char* fmt, ...) noexcept {
  char buf[1024];
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  int len = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
                          t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                          ts.tv_nsec / 1'000'000, level_name(level));
  va_list ap;
  va_start(ap, fmt);
  finish_line(buf, len, fmt, ap);
  va_end(ap);
}

void print_fatal(const char* fmt, ...) noexcept {
  char buf[1024];
  int len = std::snprintf(buf, sizeof buf, "busyring: ");
  va_list ap;
  va_start(ap, fmt);
  finish_line(buf, len, fmt, ap);
  va_end(ap);
}

}  // namespace busyring::base
