// busyring_export_lag_seconds: how far the export into PostgreSQL is behind this node's log.
//
// Definition: the age (now minus its arrival time) of the oldest record in this node's log that
// the committed export checkpoint (--export-checkpoint FILE, what `busyring-log checkpoint
// commit` renames into place once PostgreSQL committed the load) does not cover yet; 0 when it
// covers every record. A record is covered when its segment's mark in FILE is sealed, or when
// it ends at or before that mark's offset; a segment FILE does not name, or names with another
// fingerprint (first id and arrival), is not covered at all. A retired segment is gone from the
// log, so it counts as covered (retire deletes only what FILE covers).
//
// The records of a shard are in arrival order within its log (ids are not: holes are reissued
// late), so each shard's oldest uncovered record is the first usage record at or after the
// first mark that does not cover its segment whole. Measured by a small thread once a second,
// off the shards (a scan reads a few pages; the fingerprints of sealed segments are cached);
// /metrics turns the oldest arrival it found into an age at scrape time, so between two
// measurements the gauge keeps growing as a stalled export's lag does.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "busyring/base/thread.h"
#include "busyring/storage/export_checkpoint.h"

namespace busyring::storage {

class ExportLagGauge {
 public:
  ExportLagGauge() = default;
  ExportLagGauge(const ExportLagGauge&) = delete;
  ExportLagGauge& operator=(const ExportLagGauge&) = delete;

  // Measures once now, then starts the measuring thread.
  void start(const std::string& data_dir, const std::string& checkpoint_path);

  // Nanoseconds from the oldest uncovered record's arrival to now_ns (CLOCK_REALTIME); 0 when
  // every record is covered (or the clock is behind the record's arrival).
  uint64_t lag_ns(uint64_t now_ns) const noexcept;

  // A segment's first usage record (id 0: it has none yet).
  struct Fingerprint {
    uint64_t id = 0;
    uint64_t arrival_ns = 0;
  };
  using SegmentKey = std::pair<uint32_t, uint32_t>;  // shard, segment
  using FingerprintCache = std::map<SegmentKey, Fingerprint>;

  // The arrival (ns since the epoch) of the oldest record of data_dir that `checkpoint` does not
  // cover, 0 when none. `sealed` caches the fingerprints of segments the checkpoint seals (their
  // first record never changes); pass an empty map for a one-off measurement.
  static uint64_t oldest_uncovered_ns(const std::string& data_dir, const Checkpoint& checkpoint,
                                      FingerprintCache& sealed);

 private:
  void update();
  Checkpoint read_checkpoint();

  std::string data_dir_;
  std::string checkpoint_path_;
  std::string last_problem_;  // logged once until it changes
  FingerprintCache sealed_fingerprints_;  // segments nothing writes again
  alignas(64) std::atomic<uint64_t> oldest_ns_{0};
  base::PeriodicThread ticker_;  // last: joined before the members update() touches
};

}  // namespace busyring::storage
