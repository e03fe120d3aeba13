// DATA_DIR/id-ranges: every id range this node reserved from a shared counter, one line
// "FIRST END\n" (half-open, decimal) appended and fdatasync'd before any id of it is issued.
// After a restart the node reissues what its own ranges left unused, and knows the highest id
// it ever held (a shared counter that answers below it has lost its state). A last line
// without its newline is a write torn by a crash: no id of it was issued, so it is ignored.
//
// The node's own counter (--id-source local) keeps its high water in the same file, marked by a
// first line "local": one range "1 END" (every id below END may have been handed out), replaced
// durably ahead of need (high_water.h), so no block is issued above what the file says.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/result.h"
#include "busyring/ids/id_range.h"

namespace busyring::ids {

inline constexpr const char* kHeldRangesFile = "id-ranges";

std::string held_ranges_path(const std::string& data_dir);

inline constexpr const char* kLocalMarker = "local";

// The ranges in the file, in the order reserved; empty when the file does not exist. `local`
// (when given) says whether the file is the local counter's high water.
base::Result<std::vector<IdRange>> load_held_ranges(const std::string& path, bool* local = nullptr);

// Appends ranges durably. One writer (the reserving thread).
class HeldRangesLog {
 public:
  HeldRangesLog() = default;
  HeldRangesLog(const HeldRangesLog&) = delete;
  HeldRangesLog& operator=(const HeldRangesLog&) = delete;
  ~HeldRangesLog();

  base::Status open(const std::string& path);
  // Written and on stable storage when it returns ok.
  base::Status append(IdRange range);

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace busyring::ids
