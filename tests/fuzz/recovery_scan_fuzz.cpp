// Fuzz target recovery_scan: storage::scan_segment on arbitrary bytes, then (when asked)
// storage::recover_shard on the same bytes as segment files. The scan's report must be
// consistent with the bytes: every record it reports decodes where it says, the three endings
// hold what scan.h promises, nothing valid hides inside a stretch it called invalid. Recovery
// with no in-flight window refuses exactly corruption and torn tails that records follow; with
// an unbounded window (torn-looking damage voided wherever it lies) a repair must leave a log
// that recovers again cleanly, to the same records and append position, without changing a
// byte before the first invalid one.
//
// Input: [flags][stop_after][split][segment bytes] (the segment bytes rounded down to 8)
//   flags bit 0: the visitor stops the scan after stop_after records
//   flags bit 1: also recover: the bytes, zero-padded to 4 KiB, as a shard's segment files
//   flags bit 2: ... as two segments, the first split * 512 bytes long
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "busyring/base/align.h"
#include "busyring/storage/recovery.h"
#include "busyring/storage/scan.h"
#include "busyring/storage/segment.h"
#include "fuzz_target.h"
#include "scratch_dir.h"

namespace {

using namespace busyring;
using storage::DecodeStatus;
using storage::SegmentEnd;

constexpr size_t kFileAlign = 4096;  // tmpfs's direct-I/O alignment, and a multiple of disks' 512

struct Visited {
  uint64_t id;
  uint64_t offset;
  uint64_t record_bytes;
  bool operator==(const Visited&) const = default;
};

class Collector final : public storage::RecordVisitor {
 public:
  explicit Collector(size_t stop_after = 0) : stop_after_(stop_after) {}
  bool on_record(const storage::RecordView& r, uint64_t offset) override {
    BR_FUZZ_CHECK(r.kind == storage::RecordKind::usage);
    seen.push_back(Visited{r.id, offset, r.record_bytes});
    return stop_after_ == 0 || seen.size() < stop_after_;
  }
  std::vector<Visited> seen;

 private:
  size_t stop_after_;
};

bool all_zero(const uint8_t* p, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i)
    if (p[i] != 0) return false;
  return true;
}

// No valid record starts at an 8-aligned offset in (from, to).
bool none_valid_between(const uint8_t* p, size_t size, uint64_t from, uint64_t to) {
  for (uint64_t q = from + 8; q < to && q + storage::kRecordHeaderBytes <= size; q += 8) {
    storage::RecordView v{};
    if (storage::decode_record(p + q, size - q, v) == DecodeStatus::ok) return false;
  }
  return true;
}

bool same(const storage::SegmentScan& a, const storage::SegmentScan& b) {
  return a.end == b.end && a.records == b.records && a.record_bytes == b.record_bytes && a.first_id == b.first_id &&
         a.last_id == b.last_id && a.data_end == b.data_end && a.bad_offset == b.bad_offset &&
         a.bad_status == b.bad_status && a.torn_end == b.torn_end && a.next_valid == b.next_valid;
}

storage::SegmentScan check_scan(const uint8_t* p, size_t size, size_t stop_after) {
  Collector visitor(stop_after);
  const storage::SegmentScan s = storage::scan_segment(p, size, &visitor);
  const bool stopped = stop_after != 0 && visitor.seen.size() == stop_after;

  BR_FUZZ_CHECK(s.records == visitor.seen.size());
  BR_FUZZ_CHECK(s.records <= size / storage::kRecordHeaderBytes);
  BR_FUZZ_CHECK(s.record_bytes <= size);
  BR_FUZZ_CHECK(s.data_end <= size && s.data_end % 8 == 0);
  uint64_t bytes = 0;
  uint64_t next_free = 0;
  for (const Visited& r : visitor.seen) {
    BR_FUZZ_CHECK(r.offset % 8 == 0 && r.offset >= next_free);
    BR_FUZZ_CHECK(r.offset + r.record_bytes <= size);
    storage::RecordView v{};
    BR_FUZZ_CHECK(storage::decode_record(p + r.offset, size - r.offset, v) == DecodeStatus::ok);
    BR_FUZZ_CHECK(v.id == r.id && v.record_bytes == r.record_bytes);
    next_free = r.offset + r.record_bytes;
    bytes += r.record_bytes;
  }
  BR_FUZZ_CHECK(s.record_bytes == bytes);
  if (!visitor.seen.empty()) {
    BR_FUZZ_CHECK(s.first_id == visitor.seen.front().id && s.last_id == visitor.seen.back().id);
  } else {
    BR_FUZZ_CHECK(s.first_id == 0 && s.last_id == 0);
  }
  if (stopped) return s;  // the report covers what was scanned before the stop
  BR_FUZZ_CHECK(next_free <= s.data_end);

  switch (s.end) {
    case SegmentEnd::clean:
      BR_FUZZ_CHECK(all_zero(p, s.data_end, size));
      break;
    case SegmentEnd::torn:
      BR_FUZZ_CHECK(s.bad_offset % 8 == 0 && s.data_end <= s.bad_offset && s.bad_offset < size);
      BR_FUZZ_CHECK(s.bad_status != DecodeStatus::ok && s.bad_status != DecodeStatus::zero);
      BR_FUZZ_CHECK(s.bad_offset < s.torn_end && s.torn_end <= size);
      BR_FUZZ_CHECK(p[s.torn_end - 1] != 0 && all_zero(p, s.torn_end, size));
      BR_FUZZ_CHECK(none_valid_between(p, size, s.bad_offset, size));
      break;
    case SegmentEnd::corrupt: {
      BR_FUZZ_CHECK(s.bad_offset % 8 == 0 && s.next_valid % 8 == 0);
      BR_FUZZ_CHECK(s.data_end <= s.bad_offset && s.bad_offset < s.next_valid);
      BR_FUZZ_CHECK(s.next_valid + storage::kRecordHeaderBytes <= size);
      BR_FUZZ_CHECK(s.bad_status != DecodeStatus::ok && s.bad_status != DecodeStatus::zero);
      storage::RecordView v{};
      BR_FUZZ_CHECK(storage::decode_record(p + s.next_valid, size - s.next_valid, v) == DecodeStatus::ok);
      BR_FUZZ_CHECK(none_valid_between(p, size, s.bad_offset, s.next_valid));
      break;
    }
  }
  // The visitor changes nothing.
  BR_FUZZ_CHECK(same(s, storage::scan_segment(p, size, nullptr)));
  return s;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  BR_FUZZ_CHECK(f.good());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Recovers the segments with repair, then again read-only, and checks what changed.
void check_recovery(const std::vector<std::vector<uint8_t>>& segments) {
  static const fuzz::ScratchDir scratch("recovery");
  scratch.clear();
  const std::string dir = storage::shard_dir(scratch.path(), 0);
  BR_FUZZ_CHECK(storage::make_dirs(dir) == 0);
  std::vector<storage::SegmentScan> before;
  bool corrupt = false;
  bool torn_then_records = false;
  bool torn = false;
  uint64_t records = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::vector<uint8_t>& seg = segments[i];
    fuzz::write_file(storage::segment_path(dir, static_cast<uint32_t>(i)), seg.data(), seg.size());
    const storage::SegmentScan s = storage::scan_segment(seg.data(), seg.size(), nullptr);
    corrupt = corrupt || s.end == SegmentEnd::corrupt;
    if (torn && (s.records > 0 || s.data_end > 0)) torn_then_records = true;
    torn = torn || s.end == SegmentEnd::torn;
    records += s.records;
    before.push_back(s);
  }

  fuzz::QuietStderr quiet;
  // With no in-flight window (read-only or not): refuses corruption, and a torn tail that
  // records follow.
  for (const bool repair : {false, true}) {
    Collector c;
    const auto r = storage::recover_shard(dir, storage::RecoveryOptions{repair, 0, 0}, &c);
    BR_FUZZ_CHECK(r.ok() == (!corrupt && !torn_then_records));
    if (repair && r.ok()) BR_FUZZ_CHECK(r.value().torn_tails == 0 || torn);
  }
  // With every write possibly in flight (--ack written): damage that looks torn is voided even
  // with records after it, so more may start; what does is checked below.
  Collector first;
  const auto repaired = storage::recover_shard(dir, storage::RecoveryOptions{true, storage::kUnboundedWindow, 4096}, &first);
  if (!corrupt && !torn_then_records) BR_FUZZ_CHECK(repaired.ok());
  if (!repaired.ok()) return;
  BR_FUZZ_CHECK(repaired.value().records >= records);
  records = repaired.value().records;

  Collector second;
  const auto again = storage::recover_shard(dir, false, &second);
  BR_FUZZ_CHECK(again.ok());
  BR_FUZZ_CHECK(again.value().torn_tails == 0);
  BR_FUZZ_CHECK(again.value().records == records);
  BR_FUZZ_CHECK(second.seen == first.seen);
  // The two append positions may differ (a segment whose only content was a torn tail, zeroed
  // in place, counts as the last one used right after the repair, but not on the next start);
  // both must be aligned and past every record.
  const storage::AppendPosition positions[2] = {repaired.value().position, again.value().position};
  storage::DioAlign align;
  BR_FUZZ_CHECK(storage::dio_alignment(storage::segment_path(dir, 0), align) == 0 && align.offset > 0);
  for (const storage::AppendPosition& p : positions) BR_FUZZ_CHECK(p.offset % align.offset == 0);

  uint64_t records_after = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::vector<uint8_t> after = read_file(storage::segment_path(dir, static_cast<uint32_t>(i)));
    const std::vector<uint8_t>& orig = segments[i];
    BR_FUZZ_CHECK(after.size() == orig.size());
    const storage::SegmentScan& b = before[i];
    // Bytes before the first invalid one are never changed (they may be acknowledged).
    const size_t kept = b.end != SegmentEnd::clean ? static_cast<size_t>(b.bad_offset) : orig.size();
    BR_FUZZ_CHECK(std::memcmp(after.data(), orig.data(), kept) == 0);
    const storage::SegmentScan a = storage::scan_segment(after.data(), after.size(), nullptr);
    BR_FUZZ_CHECK(a.end == SegmentEnd::clean);
    BR_FUZZ_CHECK(a.records >= b.records);
    records_after += a.records;
    // Appending resumes past every record.
    for (const storage::AppendPosition& p : positions) {
      if (i == p.segment) BR_FUZZ_CHECK(a.data_end <= p.offset);
      if (i > p.segment) BR_FUZZ_CHECK(a.data_end == 0);
    }
  }
  BR_FUZZ_CHECK(records_after == records);  // every record recovery reported, and no other
}

}  // namespace

BR_FUZZ_TARGET(recovery_scan) {
  using namespace busyring;
  fuzz::InputReader in(data, size);
  const uint8_t flags = in.u8();
  const uint8_t stop_byte = in.u8();
  const size_t stop_after = (flags & 1) != 0 ? stop_byte : 0;
  const size_t split = static_cast<size_t>(in.u8()) * 512;
  const size_t bytes = in.rest_size() / 8 * 8;
  // Exact-size, 8-aligned copy: a read past the end is caught.
  std::vector<uint64_t> words(bytes / 8);
  auto* p = reinterpret_cast<uint8_t*>(words.data());
  if (bytes > 0) std::memcpy(p, in.rest(), bytes);

  check_scan(p, bytes, stop_after);
  if ((flags & 2) == 0 || bytes == 0) return 0;

  std::vector<std::vector<uint8_t>> segments;
  const size_t first = (flags & 4) != 0 ? std::min(split, bytes) : bytes;
  segments.emplace_back(p, p + first);
  if (first < bytes) segments.emplace_back(p + first, p + bytes);
  for (auto& seg : segments) seg.resize(base::align_up(std::max<size_t>(seg.size(), 1), kFileAlign), 0);
  check_recovery(segments);
  return 0;
}
