// DATA_DIR/segments: every segment file the server created, so that one that disappears is
// noticed at the next start (issue 17 §1) rather than its ids taken for holes and issued again.
//
// One line "SHARD INDEX\n" per created segment, appended (O_APPEND, one write) and fdatasync'd
// by the shard that created it before any record goes into it: at start-up synchronously, while
// running as the last steps of the segment preparer (through the ring). At start-up the server
// rewrites the file durably with one line per shard (its highest index), so it stays small.
// A last line without its newline is an append torn by a crash: the segment it names was not
// used yet, so it is ignored.
//
// At start-up, check_log_complete() holds the files against it: every segment 0..highest of
// each shard must be on disk or retired (DATA_DIR/retired); a data dir from before the ledger
// (no file) is taken as it is found, with the same rule up to its highest segment.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "busyring/base/result.h"
#include "busyring/storage/retired.h"

namespace busyring::storage {

inline constexpr const char* kLedgerFile = "segments";

std::string ledger_path(const std::string& data_dir);

// The highest segment index per shard the ledger names (-1: none for that shard); `exists`
// tells whether the file was there.
struct Ledger {
  bool exists = false;
  std::vector<int64_t> highest;  // by shard
};
[[nodiscard]] base::Result<Ledger> load_ledger(const std::string& data_dir);

// Rewrites the ledger durably with one line per shard that has a segment.
[[nodiscard]] base::Status rewrite_ledger(const std::string& data_dir, const std::vector<int64_t>& highest);

// The line for one created segment into buf (at least kLedgerLineMax bytes); its length.
inline constexpr size_t kLedgerLineMax = 24;
size_t format_ledger_line(char* buf, uint32_t shard, uint32_t index) noexcept;

// Opens the ledger for appending (created if missing): the fd, or -errno.
[[nodiscard]] int open_ledger(const std::string& data_dir);
// Appends one line and fdatasyncs: 0 or -errno. For start-up; the preparer goes through the ring.
[[nodiscard]] int append_ledger_sync(int fd, uint32_t shard, uint32_t index);

// What start-up learns from the check: per shard, the first segment it may append to.
struct LogInventory {
  std::vector<int64_t> highest;          // highest segment created, per shard (-1: none)
  std::vector<uint32_t> first_writable;  // one past the last retired segment, per shard
  RetiredLog retired;                    // DATA_DIR/retired as read
  bool ledger_existed = false;           // DATA_DIR/segments was there (else: a data dir from before it)
};

// Every segment the ledger (or the files) says was created is on disk or retired; otherwise one
// line naming the first missing file and the fix. Reads only.
[[nodiscard]] base::Result<LogInventory> check_log_complete(const std::string& data_dir);

}  // namespace busyring::storage
