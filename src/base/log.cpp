// stderr logging: format the message into a stack buffer, shape the line (log_format.cpp),
// then one write(2) per line. The format and level are set once before the threads start;
// the journal is detected on first use.
#include "busyring/base/log.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "busyring/base/clock.h"
#include "busyring/base/io.h"

namespace busyring::base {
namespace {

std::atomic<LogFormat> g_format{LogFormat::text};
std::atomic<Level> g_min_level{Level::info};

bool journal() noexcept {
  static const bool is_journal = stderr_is_journal();
  return is_journal;
}

void write_line(const char* buf, size_t len) noexcept {
  (void)write_all(2, buf, len);  // nowhere to report a failed stderr
}

void emit(Level level, std::initializer_list<LogField> fields, const char* fmt, va_list ap) noexcept {
  char msg[1024];
  const int n = std::vsnprintf(msg, sizeof msg, fmt, ap);
  if (n < 0) return;
  const size_t msg_len = static_cast<size_t>(n) < sizeof msg ? static_cast<size_t>(n) : sizeof msg - 1;
  char line[4096];
  const LineStyle style{g_format.load(std::memory_order_relaxed), journal()};
  const size_t len = format_line(line, sizeof line, style, level, wall_ns(), {msg, msg_len}, fields);
  write_line(line, len);
}

}  // namespace

bool stderr_is_journal() noexcept {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  char tail = 0;
  if (std::sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2) return false;
  struct stat st {};
  if (fstat(2, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

void configure_log(LogFormat format, Level min_level) noexcept {
  g_format.store(format, std::memory_order_relaxed);
  g_min_level.store(min_level, std::memory_order_relaxed);
}

bool log_enabled(Level level) noexcept {
  return static_cast<uint8_t>(level) >= static_cast<uint8_t>(g_min_level.load(std::memory_order_relaxed));
}

void log(Level level, const char* fmt, ...) noexcept {
  if (!log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  emit(level, {}, fmt, ap);
  va_end(ap);
}

void log_with(Level level, std::initializer_list<LogField> fields, const char* fmt, ...) noexcept {
  if (!log_enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  emit(level, fields, fmt, ap);
  va_end(ap);
}

void print_fatal(const char* fmt, ...) noexcept {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  const size_t msg_len = static_cast<size_t>(n) < sizeof msg ? static_cast<size_t>(n) : sizeof msg - 1;
  char line[4096];
  size_t len = 0;
  if (g_format.load(std::memory_order_relaxed) == LogFormat::json) {
    len = format_line(line, sizeof line, LineStyle{LogFormat::json, journal()}, Level::error, wall_ns(),
                      {msg, msg_len}, {});
  } else {
    // The conventional "program: what went wrong" line, with the journal's priority prefix.
    char text[1100];
    const int t = std::snprintf(text, sizeof text, "busyring: %.*s", static_cast<int>(msg_len), msg);
    const size_t text_len = t < 0 ? 0 : std::min(static_cast<size_t>(t), sizeof text - 1);
    const LineStyle style{LogFormat::text, true};
    len = journal() ? format_line(line, sizeof line, style, Level::error, 0, {text, text_len}, {})
                    : static_cast<size_t>(std::snprintf(line, sizeof line, "%s\n", text));
  }
  write_line(line, len);
}

}  // namespace busyring::base
