// Private to metrics: appends printf-formatted chunks of exposition text to a fixed buffer; a
// chunk that does not fit is dropped with everything after it, so the text always ends at the
// last complete line.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdio>

namespace busyring::metrics {

class TextWriter {
 public:
  TextWriter(char* buf, size_t cap) noexcept : buf_(buf), cap_(cap) {}
  void line(const char* fmt, ...) noexcept __attribute__((format(printf, 2, 3))) {
    if (full_ || cap_ == 0) return;
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf_ + len_, cap_ - len_, fmt, ap);
    va_end(ap);
    if (n < 0 || static_cast<size_t>(n) >= cap_ - len_) {
      full_ = true;
      buf_[len_] = '\0';
      return;
    }
    len_ += static_cast<size_t>(n);
  }
  size_t len() const noexcept { return len_; }
  bool full() const noexcept { return full_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  bool full_ = false;
};

}  // namespace busyring::metrics
