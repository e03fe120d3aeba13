// Checkpoint files: durable FILE.next writes and `checkpoint commit`; see checkpoint.h (the text
// format is storage/export_checkpoint.cpp's).
#include "checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"
#include "commands.h"
#include "format.h"

namespace busyring::logtool {
namespace {

constexpr uint64_t kMaxCheckpointBytes = 256ull << 20;

std::string errno_text(int err) { return std::strerror(err); }

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

}  // namespace

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
