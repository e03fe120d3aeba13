// busyring-log's progress line: drawn only on a terminal (never into a file or a pipe), at
// once and then at most four times a second, cleared before other output and at the end; its
// text says done of total with a rate and the time left; log_bytes() sums the segment files.
#include "../../../tools/log/progress.h"

#include <stdio.h>

#include <catch2/catch.hpp>

#include <string>

#include "log_fixture.h"

using namespace busyring;
using test::LogDir;
using test::SegmentImage;

namespace {

struct Streams {
  Streams() {
    out = open_memstream(&out_buf, &out_len);
    err = open_memstream(&err_buf, &err_len);
    REQUIRE(out != nullptr);
    REQUIRE(err != nullptr);
  }
  ~Streams() {
    fclose(out);
    fclose(err);
    free(out_buf);
    free(err_buf);
  }
  std::string err_text() {
    fflush(err);
    return std::string(err_buf, err_len);
  }
  FILE* out;
  FILE* err;
  char* out_buf = nullptr;
  char* err_buf = nullptr;
  size_t out_len = 0, err_len = 0;
};

size_t count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("progress: nothing at all off a terminal", "[logtool]") {
  Streams s;
  {
    logtool::ProgressLine p(s.out, s.err, "verify", 100, base::ProgressUnit::bytes);  // a memstream: no tty
    CHECK_FALSE(p.shown());
    p.advance(50);
    p.interrupt();
    p.advance(50);
  }
  CHECK(s.err_text().empty());
}

TEST_CASE("progress: on a terminal, drawn at once, throttled, cleared before output and at the end", "[logtool]") {
  Streams s;
  logtool::ProgressLine p(s.out, s.err, "verify", 4 << 20, base::ProgressUnit::bytes, true);
  CHECK(p.shown());
  p.advance(1 << 20);
  const std::string first = s.err_text();
  CHECK(first.rfind("\r\033[Kverify: 1.0 of 4.0 MiB (25%), ", 0) == 0);
  CHECK(first.find(" MiB/s, about ") != std::string::npos);
  CHECK(first.find(" s left") != std::string::npos);
  for (int i = 0; i < 1000; ++i) p.advance(1);  // within 250 ms of the first draw
  CHECK(count(s.err_text(), "verify: ") == 1);
  p.interrupt();
  CHECK(s.err_text().substr(first.size()) == "\r\033[K");
  p.interrupt();  // nothing shown: nothing to clear
  CHECK(s.err_text().size() == first.size() + 4);
  p.restart("export: writing", 10, base::ProgressUnit::records);
  p.advance(4);  // a new stage draws at once
  CHECK(s.err_text().find("\r\033[Kexport: writing: 4 of 10 records (40%)") != std::string::npos);
  p.finish();
  const std::string all = s.err_text();
  CHECK(all.compare(all.size() - 4, 4, "\r\033[K") == 0);
  p.advance(1);  // finished: drawn no more
  CHECK(s.err_text() == all);
  CHECK(all.find('\n') == std::string::npos);  // one line, redrawn in place
}

TEST_CASE("progress: log_bytes sums every segment file of the data dirs", "[logtool]") {
  LogDir a, b;
  SegmentImage img(test::kTestSegment);
  img.add(1, test::body_for(1));
  img.end_write();
  a.put(0, 0, img);
  a.put(0, 1, img);
  a.put(1, 0, img);
  b.put(0, 0, img);
  CHECK(logtool::log_bytes({a.data()}) == 3 * test::kTestSegment);
  CHECK(logtool::log_bytes({a.data(), b.data()}) == 4 * test::kTestSegment);
  CHECK(logtool::log_bytes({a.tmp.sub("missing")}) == 0);
}
