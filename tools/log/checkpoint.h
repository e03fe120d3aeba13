// Export checkpoints (`export --since-checkpoint FILE`) as files: loading FILE, the durable
// FILE.next an export writes, and `checkpoint commit`. The format, and why a mark is a byte
// offset with a fingerprint, is in busyring/storage/export_checkpoint.h.
//
// Export writes FILE.next (via FILE.next.tmp: written, fsynced, renamed, directory fsynced)
// and never touches FILE; `checkpoint commit FILE` renames FILE.next over FILE, only when
// FILE.next's base is FILE's generation, so a stale FILE.next can never move FILE backwards.
#pragma once

#include <string>

#include "busyring/base/result.h"
#include "busyring/storage/export_checkpoint.h"

namespace busyring::logtool {

using storage::Checkpoint;
using storage::format_checkpoint;
using storage::kCheckpointMagic;
using storage::parse_checkpoint;
using storage::SegmentMark;

// FILE's checkpoint; generation 0 (and no marks) when FILE does not exist. The error is one
// sentence naming FILE.
[[nodiscard]] base::Result<Checkpoint> load_checkpoint(const std::string& path);

std::string next_path(const std::string& path);  // FILE.next

// Removes FILE.next if it exists and checks that FILE.next can be written (an export starts
// with this: a failed export never leaves a FILE.next that commit could take, and an export
// whose checkpoint cannot advance fails before it prints anything).
[[nodiscard]] base::Status prepare_next(const std::string& path);
// Writes checkpoint as FILE.next durably (see the top of this file).
[[nodiscard]] base::Status write_next(const std::string& path, const Checkpoint& checkpoint);
// Renames FILE.next over FILE and fsyncs the directory; returns the new generation.
[[nodiscard]] base::Result<uint64_t> commit_next(const std::string& path);

}  // namespace busyring::logtool
