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

void write_line(char* buf, int len, int cap) noexcept {
  if (len < 0) return;
  if (len >= cap - 1) len = cap - 2;
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
  len += std::vsnprintf(buf + len, sizeof buf - static_cast<size_t>(len), fmt, ap);
  va_end(ap);
  write_line(buf, len, static_cast<int>(sizeof buf));
}

void print_fatal(const char* fmt, ...) noexcept {
  char buf[1024];
  int len = std::snprintf(buf, sizeof buf, "busyring: ");
  va_list ap;
  va_start(ap, fmt);
  len += std::vsnprintf(buf + len, sizeof buf - static_cast<size_t>(len), fmt, ap);
  va_end(ap);
  write_line(buf, len, static_cast<int>(sizeof buf));
}

}  // namespace busyring::base
