// The strict line format of the small state files; see line_file.h.
#include "busyring/storage/line_file.h"

#include <charconv>
#include <climits>

namespace busyring::storage {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at <= line.size()) {
    const size_t sp = line.find(' ', at);
    const size_t end = sp == std::string_view::npos ? line.size() : sp;
    out.push_back(line.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

bool parse_u64(std::string_view text, uint64_t* out) noexcept {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return false;
  *out = v;
  return true;
}

bool parse_u32(std::string_view text, uint32_t* out) noexcept {
  uint64_t v = 0;
  if (!parse_u64(text, &v) || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

bool parse_named_number(std::string_view line, std::string_view name, uint64_t* out) {
  const auto w = split_words(line);
  return w.size() == 2 && w[0] == name && parse_u64(w[1], out);
}

base::Status parse_line_file(
    std::string_view text, const LineFileShape& shape,
    const std::function<std::string(size_t line_no, std::string_view line, bool is_header)>& line) {
  size_t line_no = 0;
  size_t entries = 0;
  bool ended = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return base::Error{"line " + std::to_string(line_no + 1) + " is cut short"};
    const std::string_view this_line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    const auto bad = [&](const std::string& why) {
      return base::Error{"line " + std::to_string(line_no) + ": " + why};
    };
    const bool is_header = line_no >= 2 && line_no <= 1 + shape.header_lines;
    uint64_t n = 0;
    if (ended) return bad("text after the end line");
    if (line_no == 1) {
      if (this_line != shape.magic) return bad("want '" + std::string(shape.magic) + "'");
    } else if (!is_header && parse_named_number(this_line, "end", &n)) {
      if (n != entries)
        return bad("says " + std::to_string(n) + " " + std::string(shape.entries) + ", the file has " +
                   std::to_string(entries));
      ended = true;
    } else {
      if (std::string why = line(line_no, this_line, is_header); !why.empty()) return bad(why);
      if (!is_header) ++entries;
    }
  }
  if (!ended) return base::Error{"no end line (the file is cut short)"};
  return base::ok_status();
}

}  // namespace busyring::storage
