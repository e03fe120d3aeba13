// What every fuzz target shares: the entry-point macro, an always-on check that names what
// broke, and a reader for the leading bytes that choose split points and flags.
// Under libFuzzer (BR_LIBFUZZER, one target per binary) BR_FUZZ_TARGET(x) is
// LLVMFuzzerTestOneInput; in the replay build every target links into one binary, so each
// entry is fuzz_<x>, called by replay_main.cpp for the files of corpus/<x>/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <stdio.h>

#ifdef BR_LIBFUZZER
#define BR_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#else
#define BR_FUZZ_TARGET(name) int fuzz_##name(const uint8_t* data, size_t size)
#endif

// Never compiled away: a failed check is a bug found, reported like a crash (abort).
#define BR_FUZZ_CHECK(cond)                                                                   \
  do {                                                                                        \
    if (__builtin_expect(!(cond), 0)) ::busyring::fuzz::check_failed(#cond, __FILE__, __LINE__); \
  } while (0)

namespace busyring::fuzz {

// Where a failed check is reported: stderr, or its saved copy while QuietStderr holds fd 2.
inline int g_report_fd = 2;

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line) {
  std::fflush(stderr);
  dprintf(g_report_fd, "fuzz check failed: %s (%s:%d)\n", expr, file, line);
  std::abort();
}

// Takes bytes from the front of the input; past its end every take yields zero.
class InputReader {
 public:
  InputReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint16_t u16() {
    const uint16_t lo = u8();
    return static_cast<uint16_t>(lo | (u8() << 8));
  }
  const uint8_t* rest() const { return data_ + pos_; }
  size_t rest_size() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace busyring::fuzz

#ifndef BR_LIBFUZZER
int fuzz_http_stream(const uint8_t* data, size_t size);
int fuzz_usage_json(const uint8_t* data, size_t size);
int fuzz_record_decode(const uint8_t* data, size_t size);
int fuzz_recovery_scan(const uint8_t* data, size_t size);
int fuzz_log_tool(const uint8_t* data, size_t size);
int fuzz_batch_body(const uint8_t* data, size_t size);
#endif
