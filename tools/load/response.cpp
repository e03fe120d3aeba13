// Response head and id-body parsing. Every access is bounds-checked against `len`; the head
// is parsed only once its terminating empty line is present, so partial input is cheap to
// reject (one memmem) and a complete head is parsed in one pass.
#include "response.h"

#include <cstring>
#include <string_view>

#include "busyring/base/ascii.h"

namespace busyring::load {
namespace {

constexpr std::string_view crlf = "\r\n";
constexpr std::string_view prefix = "HTTP/1.";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
using base::ieq;
using base::trim;

// Decimal without sign or spaces, at most 19 digits (no overflow).
bool parse_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

struct Fields {
  bool close = false;
  bool keep_alive = false;
  bool has_length = false;
  bool chunked = false;
  uint64_t length = 0;
};

// One "Name: value" line; false if it is malformed.
bool parse_field(std::string_view line, Fields* f) {
  const size_t colon = line.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  if (line.front() == ' ' || line.front() == '\t') return false;  // obsolete line folding
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = trim(line.substr(colon + 1));
  if (ieq(name, "content-length")) {
    uint64_t length = 0;
    if (!parse_u64(value, &length)) return false;
    if (f->has_length && f->length != length) return false;
    f->has_length = true;
    f->length = length;
  } else if (ieq(name, "connection")) {
    std::string_view rest = value;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view token = trim(rest.substr(0, comma));
      if (ieq(token, "close")) f->close = true;
      if (ieq(token, "keep-alive")) f->keep_alive = true;
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  } else if (ieq(name, "transfer-encoding")) {
    f->chunked = true;  // any transfer coding: unsupported here
  }
  return true;
}

Head malformed() {
  Head head;
  head.status = HeadStatus::malformed;
  return head;
}

}  // namespace

Head parse_head(const char* data, size_t len) noexcept {
  const std::string_view in(data, len);
  // Reject garbage early, before the whole head is in.
  const size_t check = len < prefix.size() ? len : prefix.size();
  if (in.substr(0, check) != prefix.substr(0, check)) return malformed();
  const size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return Head{};

  // Status line: HTTP/1.x SP 3DIGIT [SP reason] CRLF
  const size_t line_end = in.find(crlf);
  const std::string_view status = in.substr(0, line_end);
  if (status.size() < 12 || status.size() > 1024) return malformed();
  const char minor = status[7];
  if ((minor != '0' && minor != '1') || status[8] != ' ') return malformed();
  if (!is_digit(status[9]) || !is_digit(status[10]) || !is_digit(status[11])) return malformed();
  if (status.size() > 12 && status[12] != ' ') return malformed();
  Head head;
  head.code = static_cast<uint16_t>((status[9] - '0') * 100 + (status[10] - '0') * 10 +
                                    (status[11] - '0'));
  if (head.code < 100) return malformed();

  Fields fields;
  size_t pos = line_end + crlf.size();
  while (pos < end + crlf.size()) {
    const size_t next = in.find(crlf, pos);
    if (!parse_field(in.substr(pos, next - pos), &fields)) return malformed();
    pos = next + crlf.size();
  }
  if (fields.chunked) return malformed();
  const bool no_body = head.code < 200 || head.code == 204 || head.code == 304;
  if (!no_body && !fields.has_length) return malformed();
  head.status = HeadStatus::complete;
  head.close = fields.close || (minor == '0' && !fields.keep_alive);
  head.head_bytes = static_cast<uint32_t>(end + 4);
  head.body_bytes = no_body ? 0 : fields.length;
  return head;
}

bool parse_id_body(const char* data, size_t len, uint64_t* id, uint64_t* count) noexcept {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n')) {
      i++;
    }
  };
  auto expect = [&](std::string_view token) {
    skip_space();
    if (len - i < token.size() || std::memcmp(data + i, token.data(), token.size()) != 0) {
      return false;
    }
    i += token.size();
    return true;
  };
  auto number = [&](uint64_t* out) {
    skip_space();
    const size_t digits = i;
    while (i < len && is_digit(data[i])) i++;
    if (i == digits || (data[digits] == '0' && i - digits > 1)) return false;
    return parse_u64(std::string_view(data + digits, i - digits), out);
  };
  if (!expect("{")) return false;
  *count = 1;
  if (expect("\"id\"")) {
    if (!expect(":") || !number(id)) return false;
  } else {
    if (!expect("\"first_id\"") || !expect(":") || !number(id) || !expect(",") || !expect("\"count\"") ||
        !expect(":") || !number(count))
      return false;
  }
  if (!expect("}")) return false;
  skip_space();
  return i == len;
}

}  // namespace busyring::load
