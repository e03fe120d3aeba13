// Test support for storage: an in-memory segment image built the way the log writer builds
// one (records gathered into a write, each write padded with zeros to the alignment), plus a
// visitor that collects what a scan reports.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "busyring/base/align.h"
#include "busyring/storage/record.h"
#include "busyring/storage/scan.h"

namespace busyring::test {

struct SegmentImage {
  explicit SegmentImage(size_t bytes, uint64_t align_bytes = 512)
      : words(bytes / 8, 0), align(align_bytes) {}

  uint8_t* data() { return reinterpret_cast<uint8_t*>(words.data()); }
  size_t size() const { return words.size() * 8; }

  // Appends a usage record at the write cursor; returns its offset.
  uint64_t add(uint64_t id, const std::string& body, uint64_t arrival_ns = 1000) {
    const uint64_t at = cursor;
    cursor += storage::encode_record(data() + at, storage::RecordKind::usage, id, arrival_ns,
                                     body.data(), static_cast<uint32_t>(body.size()));
    return at;
  }
  // Ends the current write: the next record starts on a fresh aligned offset.
  void end_write() { cursor = base::align_up(cursor, align); }
  // Raw bytes at the cursor (a torn or damaged stretch).
  uint64_t raw(const std::string& bytes) {
    const uint64_t at = cursor;
    std::memcpy(data() + at, bytes.data(), bytes.size());
    cursor = base::align_up(cursor + bytes.size(), 8);
    return at;
  }
  uint64_t skip(uint64_t void_first, uint64_t void_end) {
    const uint64_t at = cursor;
    cursor += storage::encode_record(data() + at, storage::RecordKind::skip, void_first, void_end,
                                     nullptr, 0);
    return at;
  }

  std::vector<uint64_t> words;
  uint64_t align;
  uint64_t cursor = 0;
};

class CollectingVisitor final : public storage::RecordVisitor {
 public:
  bool on_record(const storage::RecordView& r, uint64_t offset) override {
    ids.push_back(r.id);
    offsets.push_back(offset);
    bodies.emplace_back(reinterpret_cast<const char*>(r.body), r.body_bytes);
    arrivals.push_back(r.arrival_ns);
    return stop_after == 0 || ids.size() < stop_after;
  }
  std::vector<uint64_t> ids;
  std::vector<uint64_t> offsets;
  std::vector<std::string> bodies;
  std::vector<uint64_t> arrivals;
  size_t stop_after = 0;  // 0: never stop
};

inline std::string body_for(uint64_t id) {
  return "{\"patientId\":\"" + std::to_string(id) + "\",\"timestamp\":\"t\",\"medication\":\"m" +
         std::string(id % 23, 'x') + "\"}";
}

}  // namespace busyring::test
