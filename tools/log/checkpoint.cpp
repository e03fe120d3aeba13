// Checkpoint files: the strict text format, durable FILE.next writes, and `checkpoint commit`;
// see checkpoint.h. Parsing accepts exactly what format_checkpoint writes, so a hand-edited or
// cut file is refused rather than half-applied.
#include "checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"
#include "busyring/storage/line_file.h"
#include "commands.h"
#include "format.h"

namespace busyring::logtool {
namespace {

constexpr uint64_t kMaxCheckpointBytes = 256ull << 20;
constexpr uint32_t kMaxDirs = 1u << 16;

std::string errno_text(int err) { return std::strerror(err); }

base::Result<SegmentMark> parse_segment(std::string_view line, uint32_t dirs) {
  using storage::parse_u32, storage::parse_u64;
  const auto w = storage::split_words(line);
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

base::Result<std::string> read_file(const std::string& path, bool* exists) {
  *exists = false;
  std::string text;
  const int rc = base::read_file(path, text, kMaxCheckpointBytes);
  if (rc == -ENOENT) return std::string();
  *exists = true;
  if (rc == -EFBIG) return base::Error{path + " is larger than any checkpoint: not a busyring-log checkpoint"};
  if (rc < 0) return base::Error{"cannot read " + path + ": " + errno_text(-rc)};
  return text;
}

// Line 2 "generation N" (N >= 1), 3 "base N" (generation - 1), 4 "dirs N"; false when not.
bool parse_header(size_t line_no, std::string_view line, Checkpoint& c) {
  uint64_t n = 0;
  if (line_no == 2) return storage::parse_named_number(line, "generation", &c.generation) && c.generation != 0;
  if (line_no == 3) return storage::parse_named_number(line, "base", &c.base) && c.base + 1 == c.generation;
  if (!storage::parse_named_number(line, "dirs", &n) || n == 0 || n > kMaxDirs) return false;
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
  const storage::LineFileShape shape{.magic = kCheckpointMagic, .header_lines = 3, .entries = "segments"};
  auto parsed = storage::parse_line_file(text, shape, [&](size_t line_no, std::string_view line,
                                                          bool is_header) -> std::string {
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

base::Result<Checkpoint> load_checkpoint(const std::string& path) {
  bool exists = false;
  auto text = read_file(path, &exists);
  if (!text) return base::Error{text.error()};
  if (!exists) return Checkpoint{};
  auto c = parse_checkpoint(text.value());
  if (!c) return base::Error{path + " is not a busyring-log checkpoint (" + c.error() + ")"};
  return c;
}

std::string next_path(const std::string& path) { return path + ".next"; }

base::Status prepare_next(const std::string& path) {
  const std::string next = next_path(path);
  if (::unlink(next.c_str()) != 0 && errno != ENOENT)
    return base::Error{"cannot remove " + next + ": " + errno_text(errno)};
  const std::string tmp = next + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return base::Error{"cannot create " + tmp + ": " + errno_text(errno) + " (the checkpoint could not advance)"};
  ::close(fd);
  ::unlink(tmp.c_str());
  return base::ok_status();
}

base::Status write_next(const std::string& path, const Checkpoint& checkpoint) {
  const std::string next = next_path(path);
  if (const int rc = base::replace_file_durably(next, format_checkpoint(checkpoint)); rc < 0)
    return base::Error{"cannot write " + next + ": " + errno_text(-rc)};
  return base::ok_status();
}

base::Result<uint64_t> commit_next(const std::string& path) {
  const std::string next = next_path(path);
  bool exists = false;
  auto text = read_file(next, &exists);
  if (!text) return base::Error{text.error()};
  if (!exists)
    return base::Error{"nothing to commit: " + next + " does not exist (export --since-checkpoint " + path +
                       " writes it)"};
  auto proposed = parse_checkpoint(text.value());
  if (!proposed)
    return base::Error{next + " is not a busyring-log checkpoint (" + proposed.error() + "); it is left as it is"};
  auto current = load_checkpoint(path);
  if (!current) return base::Error{current.error()};
  if (proposed.value().base != current.value().generation)
    return base::Error{next + " was made from generation " + std::to_string(proposed.value().base) + " but " + path +
                       " is at generation " + std::to_string(current.value().generation) +
                       ": refusing a stale commit (run the export again)"};
  if (::rename(next.c_str(), path.c_str()) != 0)
    return base::Error{"cannot rename " + next + " to " + path + ": " + errno_text(errno)};
  if (const int rc = base::fsync_dir(base::parent_dir(path)); rc < 0)
    return base::Error{"cannot fsync the directory of " + path + ": " + errno_text(-rc)};
  return proposed.value().generation;
}

int run_checkpoint(const Options& options, std::FILE* /*out*/, std::FILE* err) {
  auto committed = commit_next(options.checkpoint);
  if (!committed) {
    print_error(err, Command::checkpoint, committed.error());
    return 1;
  }
  return 0;
}

}  // namespace busyring::logtool
