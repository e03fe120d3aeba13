// One chunk-size line of a chunked body (RFC 9112 7.1), read byte by byte across receives:
//   chunk-size [ chunk-ext ] CRLF
//   chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ( token / quoted-string ) ] )
// busyring reads these lines itself and hands llhttp only "<size>\r\n": llhttp 8.1 takes a
// bare CR as a line end (and swallows the byte after it), and refuses several extensions,
// quoted-pairs and BWS, all of which RFC 9112 allows. Extensions are checked, then ignored.
#pragma once

#include <cstddef>
#include <cstdint>

namespace busyring::http {

class ChunkLine {
 public:
  enum class Step : uint8_t {
    more,      // every byte used, the line goes on
    done,      // the line ended in CRLF; size() is the chunk's size
    bad,       // not a chunk line: framing lost
    too_long,  // longer than the bound given to feed()
  };

  void reset() noexcept;
  // Reads from p[0..n); `used` says how many bytes belong to the line (all of them unless done
  // or bad). `max_line_bytes` bounds the whole line, extensions included.
  Step feed(const char* p, size_t n, size_t& used, uint32_t max_line_bytes) noexcept;
  uint64_t size() const noexcept { return size_; }

 private:
  enum class State : uint8_t {
    first_digit,   // the line's first byte: a hex digit
    digits,        // more hex digits, then ";", BWS or CR
    bws_before_semi,  // BWS after the size or an extension: only ";" may follow
    before_name,   // after ";": BWS, then the name's first byte
    name,          // token bytes, then "=", ";", BWS or CR
    after_name,    // BWS after a name: "=" or ";"
    before_value,  // after "=": BWS, then a token or a quoted string
    token_value,   // token bytes, then ";", BWS or CR
    quoted,        // inside a quoted string
    quoted_pair,   // after a backslash inside a quoted string
    after_quoted,  // after the closing quote: ";", BWS or CR
    lf,            // after CR: only LF
  };
  Step step(char c) noexcept;
  Step step_size(char c) noexcept;  // first_digit and digits: the hex size and what ends it

  uint64_t size_ = 0;
  uint32_t line_bytes_ = 0;
  State state_ = State::first_digit;
};

}  // namespace busyring::http
