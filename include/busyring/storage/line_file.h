// The strict text format of busyring's small state files (DATA_DIR/retired, busyring-log's
// export checkpoints): a magic first line, a fixed number of header lines, entry lines, and a
// last line "end N" that counts the entries, so a file cut anywhere never parses. Words are
// separated by exactly one space; numbers are plain decimal (no sign, no leading zero, no
// overflow). What a header or entry line means is the caller's: this only walks the lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "busyring/base/result.h"

namespace busyring::storage {

// The words of one line, split on single spaces ("a  b" has an empty word between a and b).
std::vector<std::string_view> split_words(std::string_view line);

// A plain decimal number ("0", "17"; not "", "017", "+1", "-1", " 1", or past the type's max).
[[nodiscard]] bool parse_u64(std::string_view text, uint64_t* out) noexcept;
[[nodiscard]] bool parse_u32(std::string_view text, uint32_t* out) noexcept;
// "NAME N": exactly two words, the first `name`, the second a plain decimal number.
[[nodiscard]] bool parse_named_number(std::string_view line, std::string_view name, uint64_t* out);

struct LineFileShape {
  std::string_view magic;            // the whole first line
  size_t header_lines = 0;           // lines after the magic handed to the callback as headers
  std::string_view entries = "entries";  // what the entry lines are, for the end line's error
};

// Walks `text`: checks the magic line, hands each header and entry line (without its '\n') to
// `line(line_no, text, is_header)`, which answers "" or what is wrong with it, and checks that
// "end N" comes last with N the number of entry lines. The error names the line ("line 7: ...")
// or says that the file is cut short.
[[nodiscard]] base::Status parse_line_file(
    std::string_view text, const LineFileShape& shape,
    const std::function<std::string(size_t line_no, std::string_view line, bool is_header)>& line);

}  // namespace busyring::storage
