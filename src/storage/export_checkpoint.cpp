// The export checkpoint's text format; see export_checkpoint.h. Parsing accepts exactly what
// format_checkpoint writes, so a hand-edited or cut file is refused rather than half-applied.
#include "busyring/storage/export_checkpoint.h"

#include <charconv>

namespace busyring::storage {
namespace {

constexpr uint32_t kMaxDirs = 1u << 16;

// The words of one line, split on single spaces.
std::vector<std::string_view> words_of(std::string_view line) {
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

bool to_u64(std::string_view s, uint64_t* out) {
  if (s.empty() || (s.size() > 1 && s[0] == '0')) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc{} && ptr == s.data() + s.size();
}

bool to_u32(std::string_view s, uint32_t* out) {
  uint64_t v = 0;
  if (!to_u64(s, &v) || v > UINT32_MAX) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// "name N" with N a decimal number.
bool named_number(std::string_view line, std::string_view name, uint64_t* out) {
  const auto w = words_of(line);
  return w.size() == 2 && w[0] == name && to_u64(w[1], out);
}

base::Result<SegmentMark> parse_segment(std::string_view line, uint32_t dirs) {
  const auto w = words_of(line);
  SegmentMark m;
  if (w.size() != 8 || w[0] != "segment" || !to_u32(w[1], &m.dir) || !to_u32(w[2], &m.shard) ||
      !to_u32(w[3], &m.segment) || !to_u64(w[4], &m.offset) || !to_u64(w[5], &m.first_id) ||
      !to_u64(w[6], &m.first_arrival_ns) || (w[7] != "sealed" && w[7] != "open"))
    return base::Error{"want 'segment DIR SHARD SEGMENT OFFSET FIRST_ID FIRST_ARRIVAL_NS sealed|open'"};
  m.sealed = w[7] == "sealed";
  if (m.dir >= dirs) return base::Error{"dir " + std::to_string(m.dir) + " but only " + std::to_string(dirs) + " dirs"};
  if (m.offset % 8 != 0) return base::Error{"offset " + std::to_string(m.offset) + " is not a record boundary"};
  if (m.first_id == 0 && (m.offset != 0 || m.first_arrival_ns != 0))
    return base::Error{"a segment without records has offset 0"};
  return m;
}

void append_u64(std::string& out, uint64_t v) { out += std::to_string(v); }

}  // namespace

std::string format_checkpoint(const Checkpoint& c) {
  std::string out(kCheckpointMagic);
  out += "\ngeneration ";
  append_u64(out, c.generation);
  out += "\nbase ";
  append_u64(out, c.base);
  out += "\ndirs ";
  append_u64(out, c.dirs);
  out += '\n';
  for (const SegmentMark& m : c.segments) {
    out += "segment ";
    for (const uint64_t v :
         {uint64_t{m.dir}, uint64_t{m.shard}, uint64_t{m.segment}, m.offset, m.first_id, m.first_arrival_ns}) {
      append_u64(out, v);
      out += ' ';
    }
    out += m.sealed ? "sealed\n" : "open\n";
  }
  out += "end ";
  append_u64(out, c.segments.size());
  out += '\n';
  return out;
}

base::Result<Checkpoint> parse_checkpoint(std::string_view text) {
  Checkpoint c;
  size_t line_no = 0;
  bool ended = false;
  uint64_t dirs = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return base::Error{"line " + std::to_string(line_no + 1) + " is cut short"};
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    ++line_no;
    const auto bad = [&](const std::string& why) {
      return base::Error{"line " + std::to_string(line_no) + ": " + why};
    };
    uint64_t n = 0;
    if (ended) return bad("text after the end line");
    if (line_no == 1) {
      if (line != kCheckpointMagic) return bad("want '" + std::string(kCheckpointMagic) + "'");
    } else if (line_no == 2) {
      if (!named_number(line, "generation", &c.generation) || c.generation == 0)
        return bad("want 'generation N', N >= 1");
    } else if (line_no == 3) {
      if (!named_number(line, "base", &c.base) || c.base + 1 != c.generation)
        return bad("want 'base N', N = generation - 1");
    } else if (line_no == 4) {
      if (!named_number(line, "dirs", &dirs) || dirs == 0 || dirs > kMaxDirs) return bad("want 'dirs N', N >= 1");
      c.dirs = static_cast<uint32_t>(dirs);
    } else if (named_number(line, "end", &n)) {
      if (n != c.segments.size())
        return bad("says " + std::to_string(n) + " segments, the file has " + std::to_string(c.segments.size()));
      ended = true;
    } else {
      auto m = parse_segment(line, c.dirs);
      if (!m) return bad(m.error());
      if (!c.segments.empty() && !c.segments.back().before(m.value())) return bad("segments out of order or repeated");
      c.segments.push_back(m.value());
    }
  }
  if (!ended) return base::Error{"no end line (the file is cut short)"};
  return c;
}

}  // namespace busyring::storage
