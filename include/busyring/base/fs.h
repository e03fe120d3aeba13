// Small filesystem helpers shared by the modules that make files durable (storage, ids).
#pragma once

#include <string>
#include <string_view>

namespace busyring::base {

// The directory holding `path`: "." for a bare name, "/" for an entry of the root.
[[nodiscard]] std::string parent_dir(const std::string& path);

// fsync of a directory, so that entries created or renamed in it survive a crash. 0 or -errno.
[[nodiscard]] int fsync_dir(const std::string& dir);

// Replaces `path` with `text` so that after a crash it holds the old content or the new, whole:
// written to path.tmp and fsynced, renamed over path, the directory fsynced. 0 or -errno (the
// .tmp file is removed on failure).
[[nodiscard]] int replace_file_durably(const std::string& path, std::string_view text);

}  // namespace busyring::base
