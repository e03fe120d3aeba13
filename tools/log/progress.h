// A progress line for the log tool's long commands (verify, export, salvage, retire):
// on a terminal, one line on stderr redrawn in place ("\r") at most four times a second, with
// bytes (or records) done of the total, the rate and the time left; off a terminal nothing at
// all, so a script sees only the result. Anything printed while the line is shown must call
// interrupt() first, which clears it; the next advance() flushes `out` and draws it again below.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "busyring/base/progress.h"
#include "log_reader.h"

namespace busyring::logtool {

class ProgressLine {
 public:
  // Shown when `err` is a terminal; `terminal` forces it either way (tests).
  ProgressLine(std::FILE* out, std::FILE* err, const char* what, uint64_t total, base::ProgressUnit unit);
  ProgressLine(std::FILE* out, std::FILE* err, const char* what, uint64_t total, base::ProgressUnit unit,
               bool terminal);
  ~ProgressLine() { finish(); }
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool shown() const { return terminal_; }
  // Counts n more done; redraws when the last draw is 250 ms old (the first one at once).
  void advance(uint64_t n);
  // The next stage of the same command (export: indexing, then writing), from 0 done.
  void restart(const char* what, uint64_t total, base::ProgressUnit unit);
  // Clears the line before something else is printed.
  void interrupt();
  // Clears the line for good.
  void finish();

 private:
  void draw();

  std::FILE* out_;
  std::FILE* err_;
  bool terminal_;
  const char* what_;
  uint64_t total_;
  base::ProgressUnit unit_;
  uint64_t done_ = 0;
  uint64_t start_ns_;
  uint64_t drawn_ns_ = 0;
  bool drawn_ = false;
  bool finished_ = false;
};

// The bytes of every segment file under the data dirs (what a walk reads), 0 for what cannot
// be listed.
uint64_t log_bytes(const std::vector<std::string>& data_dirs);

// A LogVisitor that passes everything to `inner` and advances `progress` by each segment's
// file size, clearing the line before inner reports the segment.
class ProgressVisitor final : public LogVisitor {
 public:
  ProgressVisitor(LogVisitor& inner, ProgressLine& progress) : inner_(inner), progress_(progress) {}
  void on_segment_start(const std::string& path, const std::string& read_path, const uint8_t* data,
                        size_t bytes) override {
    inner_.on_segment_start(path, read_path, data, bytes);
  }
  bool on_record(const storage::RecordView& record, const RecordPlace& at) override {
    return inner_.on_record(record, at);
  }
  void on_segment(const SegmentReport& report) override {
    progress_.interrupt();
    inner_.on_segment(report);
    progress_.advance(report.file_bytes);
  }

 private:
  LogVisitor& inner_;
  ProgressLine& progress_;
};

}  // namespace busyring::logtool
