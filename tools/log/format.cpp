// Text formats of busyring-log; see format.h. No locale, no iostreams: every number is
// written with std::to_chars so output is the same on every machine.
#include "format.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace busyring::logtool {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// The longest prefix of s of at most max_bytes that does not end inside a UTF-8 sequence.
size_t utf8_prefix(std::string_view s, size_t max_bytes) {
  size_t lead = max_bytes;
  while (lead > 0 && max_bytes - lead < 3 && (static_cast<unsigned char>(s[lead - 1]) & 0xC0) == 0x80) --lead;
  if (lead == 0) return max_bytes;
  const auto b = static_cast<unsigned char>(s[lead - 1]);
  const size_t len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
  return lead - 1 + len <= max_bytes ? max_bytes : lead - 1;
}

}  // namespace

void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

void append_csv_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(s);
    return;
  }
  out.push_back('"');
  for (const char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void append_jsonl_line(std::string& out, uint64_t id, uint32_t shard, uint64_t arrival_ns, std::string_view body) {
  out += "{\"id\":";
  append_u64(out, id);
  out += ",\"shard\":";
  append_u64(out, shard);
  out += ",\"arrival_ns\":";
  append_u64(out, arrival_ns);
  out += ",\"body\":";
  const size_t at = out.size();
  out.append(body);
  for (size_t i = at; i < out.size(); ++i) {
    if (out[i] == '\n' || out[i] == '\r') out[i] = ' ';
  }
  out += "}\n";
}

namespace {

// A decoded field as a CSV field; a NUL (from \u0000) becomes U+FFFD, since COPY refuses NUL.
void append_csv_text(std::string& out, std::string_view s) {
  if (s.find('\0') == std::string_view::npos) {
    append_csv_field(out, s);
    return;
  }
  std::string clean;
  for (const char c : s) {
    if (c == '\0')
      clean += "\xEF\xBF\xBD";
    else
      clean.push_back(c);
  }
  append_csv_field(out, clean);
}

}  // namespace

void append_csv_line(std::string& out, uint64_t id, uint32_t shard, uint64_t arrival_ns, const UsageFields& fields,
                     std::string_view body) {
  append_u64(out, id);
  out.push_back(',');
  append_u64(out, shard);
  out.push_back(',');
  append_u64(out, arrival_ns);
  out.push_back(',');
  append_csv_text(out, fields.patient_id);
  out.push_back(',');
  append_csv_text(out, fields.timestamp);
  out.push_back(',');
  append_csv_text(out, fields.medication);
  out.push_back(',');
  append_csv_field(out, body);
  out.push_back('\n');
}

std::string iso8601_ns(uint64_t ns_since_epoch) {
  const auto secs = static_cast<time_t>(ns_since_epoch / 1'000'000'000u);
  const auto frac = static_cast<unsigned long>(ns_since_epoch % 1'000'000'000u);
  tm t{};
  char buf[64];
  if (gmtime_r(&secs, &t) == nullptr) return "?";
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  if (n == 0) return "?";
  char out[96];
  std::snprintf(out, sizeof out, "%s.%09luZ", buf, frac);
  return out;
}

void append_printable(std::string& out, std::string_view s, size_t max_bytes) {
  const bool cut = s.size() > max_bytes;
  if (cut) s = s.substr(0, utf8_prefix(s, max_bytes));
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    } else {
      out.push_back(c);
    }
  }
  if (cut) out += "...";
}

}  // namespace busyring::logtool
