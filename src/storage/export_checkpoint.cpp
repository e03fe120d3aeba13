// The export checkpoint's text format; see export_checkpoint.h. Parsing accepts exactly what
// format_checkpoint writes, so a hand-edited or cut file is refused rather than half-applied.
#include "busyring/storage/export_checkpoint.h"

#include "busyring/storage/line_file.h"

namespace busyring::storage {
namespace {

constexpr uint32_t kMaxDirs = 1u << 16;

base::Result<SegmentMark> parse_segment(std::string_view line, uint32_t dirs) {
  const auto w = split_words(line);
  SegmentMark m;
  if (w.size() != 8 || w[0] != "segment" || !parse_u32(w[1], &m.dir) || !parse_u32(w[2], &m.shard) ||
      !parse_u32(w[3], &m.segment) || !parse_u64(w[4], &m.offset) || !parse_u64(w[5], &m.first_id) ||
      !parse_u64(w[6], &m.first_arrival_ns) || (w[7] != "sealed" && w[7] != "open"))
    return base::Error{"want 'segment DIR SHARD SEGMENT OFFSET FIRST_ID FIRST_ARRIVAL_NS sealed|open'"};
  m.sealed = w[7] == "sealed";
  if (m.dir >= dirs) return base::Error{"dir " + std::to_string(m.dir) + " but only " + std::to_string(dirs) + " dirs"};
  if (m.offset % 8 != 0) return base::Error{"offset " + std::to_string(m.offset) + " is not a record boundary"};
  if (m.first_id == 0 && (m.offset != 0 || m.first_arrival_ns != 0))
    return base::Error{"a segment without records has offset 0"};
  return m;
}

void append_u64(std::string& out, uint64_t v) { out += std::to_string(v); }

// Line 2 "generation N" (N >= 1), 3 "base N" (generation - 1), 4 "dirs N"; false when not.
bool parse_header(size_t line_no, std::string_view line, Checkpoint& c) {
  uint64_t n = 0;
  if (line_no == 2) return parse_named_number(line, "generation", &c.generation) && c.generation != 0;
  if (line_no == 3) return parse_named_number(line, "base", &c.base) && c.base + 1 == c.generation;
  if (!parse_named_number(line, "dirs", &n) || n == 0 || n > kMaxDirs) return false;
  c.dirs = static_cast<uint32_t>(n);
  return true;
}

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
  constexpr const char* kHeaderWants[] = {"want 'generation N', N >= 1", "want 'base N', N = generation - 1",
                                          "want 'dirs N', N >= 1"};
  Checkpoint c;
  const LineFileShape shape{.magic = kCheckpointMagic, .header_lines = 3, .entries = "segments"};
  auto parsed = parse_line_file(text, shape, [&](size_t line_no, std::string_view line, bool is_header) -> std::string {
    if (is_header) return parse_header(line_no, line, c) ? "" : kHeaderWants[line_no - 2];
    auto m = parse_segment(line, c.dirs);
    if (!m) return m.error();
    if (!c.segments.empty() && !c.segments.back().before(m.value())) return "segments out of order or repeated";
    c.segments.push_back(m.value());
    return "";
  });
  if (!parsed) return base::Error{parsed.error()};
  return c;
}

}  // namespace busyring::storage
