// The two file operations of salvage: keep a copy of a damaged segment (<segment>.broken,
// then .broken.1, .broken.2... so no earlier copy is overwritten), and void a byte range of a
// segment in place (a self-referential skip marker at its start, zeros after it) by a
// read-modify-write of the aligned sectors holding it, with O_DIRECT and fdatasync.
#pragma once

#include <cstdint>
#include <string>

#include "busyring/base/result.h"

namespace busyring::logtool {

// Copies path to the first free name of path.broken, path.broken.1, ...; fsyncs the copy and
// the directory. Returns the copy's name.
[[nodiscard]] base::Result<std::string> copy_aside(const std::string& path);

// Makes [from, to) of the segment void: when it holds a record header (to - from >= 32), a
// skip marker at `from` with id = from and arrival_ns = to (a skip whose id is its own offset
// voids the bytes up to arrival_ns), and zeros for the rest, so any scan passes over it.
// from and to are 8-aligned; the sectors [align_down(from), align_up(to)) of `io_align` are
// read, changed and written back; the rest of those sectors keeps its bytes.
[[nodiscard]] base::Status void_range(const std::string& path, uint64_t from, uint64_t to, uint32_t io_align);

}  // namespace busyring::logtool
