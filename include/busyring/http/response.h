// Response serialisation into a connection's output buffer: status line, the headers every
// response carries (Date, Content-Type, Content-Length, Connection), optional extra header
// lines, then the body. No allocation; returns 0 when the response does not fit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace busyring::http {

enum class BodyType : uint8_t { json, text, html };

struct Response {
  uint16_t status = 200;
  BodyType type = BodyType::json;
  std::string_view body;
  std::string_view extra_headers;  // complete "Name: value\r\n" lines, or empty
  bool keep_alive = true;
  bool http10 = false;  // a 1.0 client keeps the connection only if told "keep-alive"
  bool omit_body = false;  // the answer to HEAD: Content-Length of the body, but no body
};

const char* reason_phrase(uint16_t status) noexcept;

// "Date: <IMF-fixdate>\r\n", rebuilt at most once a second by its owner.
class DateLine {
 public:
  void update(uint64_t wall_ns) noexcept;
  std::string_view line() const noexcept { return {buf_, len_}; }

 private:
  uint64_t second_ = 0;
  char buf_[48] = {};
  size_t len_ = 0;
};

size_t write_response(char* out, size_t cap, const Response& r, const DateLine& date) noexcept;

// The interim response to Expect: 100-continue.
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Decimal digits of v into out (at least 20 bytes); returns the count.
size_t format_u64(char* out, uint64_t v) noexcept;

}  // namespace busyring::http
