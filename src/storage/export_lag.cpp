// The export lag gauge; see export_lag.h.
#include "busyring/storage/export_lag.h"


#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "busyring/base/io.h"
#include "busyring/base/log.h"
#include "busyring/storage/mapped_file.h"
#include "busyring/storage/record.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"

namespace busyring::storage {
namespace {

constexpr int kIntervalMs = 1000;
constexpr size_t kMaxCheckpointBytes = 256u << 20;
// Zeros after a record end only the padding of its write, at most the direct-I/O alignment;
// a longer run is unwritten space (or a write still landing, seen at the next measurement).
constexpr uint64_t kMaxZeroRun = 64u << 10;

using Fingerprint = ExportLagGauge::Fingerprint;

// Stops at the first usage record at or after `from`.
class FirstFrom final : public RecordVisitor {
 public:
  explicit FirstFrom(uint64_t from) : from_(from) {}
  bool on_record(const RecordView& r, uint64_t offset) override {
    if (offset < from_) return true;
    found = {r.id, r.arrival_ns};
    return false;
  }
  Fingerprint found;

 private:
  uint64_t from_;
};

// The first usage record at or after `from` (a record end, or 0), id 0 when none. Walks records
// and padding from `from`, so an empty segment (the prepared next one) costs a few pages, not
// a scan of its whole size; a skip marker or damage there (rare: markers void stretches by
// absolute offsets) falls back to the scanner from the segment's start, as export reads it.
Fingerprint first_usage_from(const MappedFile& file, uint64_t from) {
  const uint8_t* data = file.data();
  const uint64_t size = file.scan_bytes();
  uint64_t pos = from;
  uint64_t zeros = 0;
  while (pos + kRecordHeaderBytes <= size && zeros < kMaxZeroRun) {
    RecordView r{};
    const DecodeStatus status = decode_record(data + pos, size - pos, r);
    if (status == DecodeStatus::zero) {
      pos += kRecordAlign;
      zeros += kRecordAlign;
      continue;
    }
    if (status == DecodeStatus::ok && r.kind == RecordKind::usage) return {r.id, r.arrival_ns};
    FirstFrom first(from);
    (void)scan_segment(data, size, &first);
    return first.found;
  }
  return {};
}

// The checkpoint's mark for this segment, from whichever DIR it was exported as: the one whose
// fingerprint is this segment's (a checkpoint is never applied to another log).
const SegmentMark* find_mark(const Checkpoint& c, uint32_t shard, uint32_t segment,
                             const Fingerprint& f) {
  for (uint32_t dir = 0; dir < c.dirs; ++dir) {  // marks are sorted by (dir, shard, segment)
    const SegmentMark place{dir, shard, segment, 0, 0, 0, false};
    const auto it = std::lower_bound(c.segments.begin(), c.segments.end(), place,
                                     [](const SegmentMark& a, const SegmentMark& b) { return a.before(b); });
    if (it != c.segments.end() && it->same_place(place) && it->first_id == f.id &&
        it->first_arrival_ns == f.arrival_ns)
      return &*it;
  }
  return nullptr;
}

bool sealed_in(const Checkpoint& c, uint32_t shard, uint32_t segment, const Fingerprint& f) {
  const SegmentMark* m = find_mark(c, shard, segment, f);
  return m != nullptr && m->sealed;
}

// One shard's oldest uncovered record: segments in order, up to the first with a record past
// its mark. `sealed` holds the fingerprints of sealed segments met before; `kept` gets those
// met now (so those of retired segments are forgotten).
uint64_t oldest_in_shard(const std::string& data_dir, uint32_t shard, const Checkpoint& c,
                         const ExportLagGauge::FingerprintCache& sealed, ExportLagGauge::FingerprintCache& kept) {
  const std::string dir = shard_dir(data_dir, shard);
  std::vector<uint32_t> segments;
  if (list_segments(dir, segments) < 0) return 0;
  for (const uint32_t index : segments) {
    const auto cached = sealed.find({shard, index});
    if (cached != sealed.end() && sealed_in(c, shard, index, cached->second)) {
      kept.insert(*cached);
      continue;
    }
    MappedFile file;
    if (file.open(segment_path(dir, index)) < 0) continue;  // retired while we looked
    const Fingerprint f = first_usage_from(file, 0);  // as export fingerprints a segment
    if (f.id == 0) continue;  // no record yet (the prepared next segment)
    const SegmentMark* mark = find_mark(c, shard, index, f);
    if (mark != nullptr && mark->sealed) {
      kept[{shard, index}] = f;
      continue;
    }
    const Fingerprint waiting = first_usage_from(file, mark != nullptr ? mark->offset : 0);
    if (waiting.id != 0) return waiting.arrival_ns;
  }
  return 0;
}

}  // namespace

uint64_t ExportLagGauge::oldest_uncovered_ns(const std::string& data_dir, const Checkpoint& checkpoint,
                                             FingerprintCache& sealed) {
  std::vector<uint32_t> shards;
  if (list_shards(data_dir, shards) < 0) return 0;
  uint64_t oldest = 0;
  FingerprintCache kept;
  for (const uint32_t k : shards) {
    const uint64_t arrival = oldest_in_shard(data_dir, k, checkpoint, sealed, kept);
    if (arrival != 0 && (oldest == 0 || arrival < oldest)) oldest = arrival;
  }
  sealed.swap(kept);
  return oldest;
}

uint64_t ExportLagGauge::lag_ns(uint64_t now_ns) const noexcept {
  const uint64_t oldest = oldest_ns_.load(std::memory_order_relaxed);
  return oldest != 0 && now_ns > oldest ? now_ns - oldest : 0;
}

void ExportLagGauge::start(const std::string& data_dir, const std::string& checkpoint_path) {
  data_dir_ = data_dir;
  checkpoint_path_ = checkpoint_path;
  update();
  ticker_.start("busyring-lag", kIntervalMs, [this] { update(); });
}

void ExportLagGauge::update() {
  const Checkpoint checkpoint = read_checkpoint();
  oldest_ns_.store(oldest_uncovered_ns(data_dir_, checkpoint, sealed_fingerprints_), std::memory_order_relaxed);
}

// FILE's marks; none (every record uncovered) while FILE does not exist: no export has
// committed yet. An unreadable or damaged FILE also covers nothing, so the lag shows it, and
// is logged once.
Checkpoint ExportLagGauge::read_checkpoint() {
  std::string text;
  std::string problem;
  Checkpoint checkpoint;
  if (const int rc = base::read_file(checkpoint_path_, text, kMaxCheckpointBytes); rc == -ENOENT) {
    // nothing committed yet
  } else if (rc < 0) {
    problem = "cannot read " + checkpoint_path_ + ": " + std::strerror(-rc);
  } else if (auto parsed = parse_checkpoint(text); !parsed) {
    problem = checkpoint_path_ + " is not a busyring-log checkpoint (" + parsed.error() + ")";
  } else {
    checkpoint = std::move(parsed.value());
  }
  if (problem != last_problem_ && !problem.empty())
    BR_LOG_ERROR("export lag: %s; busyring_export_lag_seconds counts every record as not exported until it is "
                 "readable (check --export-checkpoint)",
                 problem.c_str());
  last_problem_ = problem;
  return checkpoint;
}

}  // namespace busyring::storage
