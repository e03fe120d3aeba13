// Log line formatting (see log.h): text, journal-prefixed and JSON lines into a caller's
// buffer, and JSON string escaping that keeps the output valid whatever bytes a message holds.
// Pure functions: no I/O, no allocation.
#include <cstdio>
#include <ctime>

#include "busyring/base/log.h"

namespace busyring::base {
namespace {

size_t utf8_sequence(const unsigned char* p, size_t avail) noexcept {
  const unsigned char c = p[0];
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) need = 2;
  else if (c == 0xE0) need = 3, lo = 0xA0;
  else if (c == 0xED) need = 3, hi = 0x9F;  // no UTF-16 surrogates
  else if (c >= 0xE1 && c <= 0xEF) need = 3;
  else if (c == 0xF0) need = 4, lo = 0x90;
  else if (c == 0xF4) need = 4, hi = 0x8F;  // nothing past U+10FFFF
  else if (c >= 0xF1 && c <= 0xF3) need = 4;
  else return 0;
  if (avail < need || p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < need; ++i)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return need;
}

size_t escape_json(char* out, size_t len, size_t cap, std::string_view s, size_t& consumed) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = p[i];
    char esc[8];
    size_t n = 0;
    size_t used = 1;
    if (c == '"' || c == '\\') {
      esc[0] = '\\', esc[1] = static_cast<char>(c), n = 2;
    } else if (c < 0x20) {
      const char* short_form = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
                               : c == '\f' ? "\\f" : nullptr;
      if (short_form != nullptr) {
        esc[0] = short_form[0], esc[1] = short_form[1], n = 2;
      } else {
        const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        for (size_t k = 0; k < 6; ++k) esc[k] = u[k];
        n = 6;
      }
    } else if (c < 0x80) {
      esc[0] = static_cast<char>(c), n = 1;
    } else {
      used = utf8_sequence(p + i, s.size() - i);
      if (used == 0) {
        const char* r = "\\ufffd";  // not UTF-8: the replacement character, one per byte
        for (size_t k = 0; k < 6; ++k) esc[k] = r[k];
        n = 6;
        used = 1;
      } else {
        for (size_t k = 0; k < used; ++k) esc[k] = static_cast<char>(p[i + k]);
        n = used;
      }
    }
    if (len + n > cap) break;
    for (size_t k = 0; k < n; ++k) out[len++] = esc[k];
    i += used;
  }
  consumed = i;
  return len;
}

// Appends into out[0, limit); what does not fit is dropped whole (write() says whether it fit).
// The bytes between limit and cap are kept for the closing of the line.
class LineWriter {
 public:
  LineWriter(char* out, size_t limit) : out_(out), limit_(limit) {}
  bool write(std::string_view s) {
    if (len_ + s.size() > limit_) return false;
    for (const char c : s) out_[len_++] = c;
    return true;
  }
  bool write_u64(uint64_t v) {
    char digits[24];
    const int n = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(v));
    return write({digits, static_cast<size_t>(n)});
  }
  // False when s was cut (what fitted is written, ending at a character boundary).
  bool write_json(std::string_view s) {
    size_t consumed = 0;
    len_ = escape_json(out_, len_, limit_, s, consumed);
    return consumed == s.size();
  }
  // Text without escaping, cut at a UTF-8 character boundary when it does not fit.
  void write_cut(std::string_view s) {
    size_t n = s.size();
    if (len_ + n > limit_) {
      n = limit_ - len_;
      while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    }
    for (size_t i = 0; i < n; ++i) out_[len_++] = s[i];
  }
  void close_with(std::string_view s) {  // the reserved bytes past limit
    for (const char c : s) out_[len_++] = c;
  }
  size_t len() const { return len_; }
  void rewind(size_t len) { len_ = len; }

 private:
  char* out_;
  size_t limit_;
  size_t len_ = 0;
};

void write_timestamp(LineWriter& w, uint64_t wall_ns) {
  const time_t secs = static_cast<time_t>(wall_ns / 1'000'000'000ull);
  tm t{};
  gmtime_r(&secs, &t);
  char ts[40];
  const int n = std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", t.tm_year + 1900, t.tm_mon + 1,
                              t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                              static_cast<unsigned>(wall_ns / 1'000'000ull % 1000));
  w.write({ts, static_cast<size_t>(n)});
}

// ,"fields":{"k":"v","n":1}: a field that does not fit is left out whole, with those after it.
void write_fields(LineWriter& w, std::initializer_list<LogField> fields) {
  if (fields.size() == 0) return;
  const size_t start = w.len();
  if (!w.write(",\"fields\":{")) return;
  bool first = true;
  for (const LogField& f : fields) {
    const size_t before = w.len();
    bool ok = (first || w.write(",")) && w.write("\"") && w.write_json(f.key) && w.write("\":");
    if (ok) ok = f.is_number ? w.write_u64(f.number) : (w.write("\"") && w.write_json(f.text) && w.write("\""));
    if (!ok) {
      w.rewind(before);
      break;
    }
    first = false;
  }
  if (first) {
    w.rewind(start);  // not one field fitted: no "fields" at all
    return;
  }
  w.close_with("}");
}

}  // namespace

const char* level_name(Level level) noexcept {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "?";
}

int syslog_priority(Level level) noexcept {
  switch (level) {
    case Level::debug: return 7;
    case Level::info: return 6;
    case Level::warn: return 4;
    case Level::error: return 3;
  }
  return 6;
}

bool parse_level(std::string_view text, Level& out) noexcept {
  for (const Level l : {Level::debug, Level::info, Level::warn, Level::error}) {
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

bool parse_log_format(std::string_view text, LogFormat& out) noexcept {
  if (text == "text") out = LogFormat::text;
  else if (text == "json") out = LogFormat::json;
  else return false;
  return true;
}

size_t json_escape(char* out, size_t len, size_t cap, std::string_view s) noexcept {
  size_t consumed = 0;
  return escape_json(out, len, cap, s, consumed);
}

size_t format_line(char* out, size_t cap, const LineStyle& style, Level level, uint64_t wall_ns,
                   std::string_view msg, std::initializer_list<LogField> fields) noexcept {
  // Room kept past the limit for what closes a line: "\"}}\n" at most.
  constexpr size_t kClosing = 8;
  if (cap < 256) return 0;
  LineWriter w(out, cap - kClosing);
  if (style.journal) {
    char prefix[8];
    const int n = std::snprintf(prefix, sizeof prefix, "<%d>", syslog_priority(level));
    w.write({prefix, static_cast<size_t>(n)});
  }
  if (style.format == LogFormat::json) {
    w.write("{\"ts\":\"");
    write_timestamp(w, wall_ns);
    w.write("\",\"level\":\"");
    w.write(level_name(level));
    w.write("\",\"msg\":\"");
    w.write_json(msg);
    w.close_with("\"");
    write_fields(w, fields);
    w.close_with("}\n");
    return w.len();
  }
  if (!style.journal) {
    write_timestamp(w, wall_ns);
    w.write(" ");
    w.write(level_name(level));
    w.write(" ");
  }
  w.write_cut(msg);
  w.close_with("\n");
  return w.len();
}

}  // namespace busyring::base
