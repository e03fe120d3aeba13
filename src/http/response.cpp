// Response writer: memcpy of fixed pieces, no printf on the request path.
#include "busyring/http/response.h"

#include <cstring>
#include <ctime>

namespace busyring::http {
namespace {

class Cursor {
 public:
  Cursor(char* out, size_t cap) : p_(out), end_(out + cap), start_(out) {}
  void put(std::string_view s) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < s.size()) {
      ok_ = false;
      return;
    }
    if (s.empty()) return;  // an empty view may carry a null pointer
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void put_u64(uint64_t v) {
    char digits[24];
    put({digits, format_u64(digits, v)});
  }
  size_t done() const { return ok_ ? static_cast<size_t>(p_ - start_) : 0; }

 private:
  char* p_;
  char* end_;
  char* start_;
  bool ok_ = true;
};

}  // namespace

size_t format_u64(char* out, uint64_t v) noexcept {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return n;
}

const char* reason_phrase(uint16_t status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void DateLine::update(uint64_t wall_ns) noexcept {
  const uint64_t second = wall_ns / 1'000'000'000;
  if (second == second_ && len_ != 0) return;
  second_ = second;
  const auto t = static_cast<time_t>(second);
  tm g{};
  gmtime_r(&t, &g);
  len_ = strftime(buf_, sizeof buf_, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &g);
}

size_t write_response(char* out, size_t cap, const Response& r, const DateLine& date) noexcept {
  Cursor c(out, cap);
  c.put("HTTP/1.1 ");
  c.put_u64(r.status);
  c.put(" ");
  c.put(reason_phrase(r.status));
  c.put("\r\nServer: busyring\r\n");
  c.put(date.line());
  c.put(r.type == BodyType::json   ? "Content-Type: application/json\r\n"
        : r.type == BodyType::html ? "Content-Type: text/html; charset=utf-8\r\n"
                                   : "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n");
  c.put(r.extra_headers);
  c.put("Content-Length: ");
  c.put_u64(r.body.size());
  if (!r.keep_alive) c.put("\r\nConnection: close\r\n\r\n");
  else if (r.http10) c.put("\r\nConnection: keep-alive\r\n\r\n");
  else c.put("\r\n\r\n");
  if (!r.omit_body) c.put(r.body);
  return c.done();
}

}  // namespace busyring::http
