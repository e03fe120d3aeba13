// Segment summaries: building, the file codec, and blocking read/write for start-up and tools.
// See segment_summary.h for the format and why it is a sidecar file.
#include "busyring/storage/segment_summary.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <utility>

#include "busyring/base/fs.h"
#include "busyring/base/io.h"
#include "crc32c.h"

namespace busyring::storage {
namespace {

constexpr size_t kCrcOffset = 44;
constexpr size_t kSpansBytesOffset = 48;

void put_u32(uint8_t* p, uint32_t v) noexcept { std::memcpy(p, &v, 4); }
void put_u64(uint8_t* p, uint64_t v) noexcept { std::memcpy(p, &v, 8); }
uint32_t get_u32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get_u64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// CRC32C of the file with its CRC field read as zero.
uint32_t summary_crc(const uint8_t* data, size_t bytes) noexcept {
  static constexpr uint8_t kZero[4] = {};
  uint32_t crc = crc32c(0, data, kCrcOffset);
  crc = crc32c(crc, kZero, 4);
  return crc32c(crc, data + kCrcOffset + 4, bytes - kCrcOffset - 4);
}

// Spans ascending, disjoint, not touching, ids nonzero: what finish() produces.
bool spans_well_formed(const std::vector<IdSpan>& spans) noexcept {
  for (size_t i = 0; i < spans.size(); ++i) {
    if (spans[i].first == 0 || spans[i].first >= spans[i].end) return false;
    if (i > 0 && spans[i].first <= spans[i - 1].end) return false;
  }
  return true;
}

void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

// A LEB128 varint at p (before end); false if it runs past end or past 64 bits.
bool get_varint(const uint8_t*& p, const uint8_t* end, uint64_t& v) noexcept {
  v = 0;
  for (unsigned shift = 0; shift < 64 && p < end; shift += 7) {
    const uint8_t byte = *p++;
    if (shift == 63 && byte > 1) return false;
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

// The span list: spans_well_formed() holds after it, else false.
bool decode_spans(const uint8_t* p, const uint8_t* end, std::vector<IdSpan>& spans) noexcept {
  uint64_t previous_end = 0;
  for (IdSpan& s : spans) {
    uint64_t gap = 0, length = 0;
    if (!get_varint(p, end, gap) || !get_varint(p, end, length)) return false;
    if (gap == 0 || length == 0 || gap > UINT64_MAX - previous_end) return false;  // touching, or empty
    s.first = previous_end + gap;
    if (length > UINT64_MAX - s.first) return false;
    s.end = s.first + length;
    previous_end = s.end;
  }
  return p == end;
}

bool reject(std::string& why, std::string text) {
  why = std::move(text);
  return false;
}

}  // namespace

std::string summary_path(const std::string& shard_dir, uint32_t segment) {
  char name[40];
  std::snprintf(name, sizeof name, "/seg-%08u.summary", segment);
  return shard_dir + name;
}

uint64_t span_ids(const std::vector<IdSpan>& spans) noexcept {
  uint64_t n = 0;
  for (const IdSpan& s : spans) n += s.end - s.first;
  return n;
}

void SummaryBuilder::reset(uint32_t segment) {
  summary_.segment = segment;
  summary_.records = 0;
  summary_.record_bytes = 0;
  summary_.records_end = 0;
  summary_.ids.clear();
  complete_ = true;
}

void SummaryBuilder::add(uint64_t id, uint64_t offset, uint64_t bytes) noexcept {
  ++summary_.records;
  summary_.record_bytes += bytes;
  summary_.records_end = std::max(summary_.records_end, offset + bytes);
  std::vector<IdSpan>& ids = summary_.ids;
  if (!ids.empty() && ids.back().end == id) {
    ++ids.back().end;
    return;
  }
  if (!complete_ || ids.size() >= kMaxSummarySpans) {
    complete_ = false;
    return;
  }
  // Within the capacity reserved at start-up this does not allocate; past it, it grows once.
  ids.push_back({id, id + 1});
}

SegmentSummary SummaryBuilder::finish() const {
  SegmentSummary s = summary_;
  std::sort(s.ids.begin(), s.ids.end(), [](const IdSpan& a, const IdSpan& b) { return a.first < b.first; });
  size_t out = 0;
  for (size_t i = 0; i < s.ids.size(); ++i) {
    if (out > 0 && s.ids[i].first <= s.ids[out - 1].end) {
      s.ids[out - 1].end = std::max(s.ids[out - 1].end, s.ids[i].end);  // touching, or a duplicate id
      continue;
    }
    s.ids[out++] = s.ids[i];
  }
  s.ids.resize(out);
  return s;
}

std::vector<uint8_t> encode_summary(const SegmentSummary& s) {
  std::vector<uint8_t> out(kSummaryHeaderBytes, 0);
  out.reserve(kSummaryHeaderBytes + 4 * s.ids.size());
  uint64_t previous_end = 0;
  for (const IdSpan& span : s.ids) {
    put_varint(out, span.first - previous_end);
    put_varint(out, span.end - span.first);
    previous_end = span.end;
  }
  uint8_t* p = out.data();
  put_u64(p, kSummaryMagic);
  put_u32(p + 8, kSummaryVersion);
  put_u32(p + 12, s.segment);
  put_u64(p + 16, s.records);
  put_u64(p + 24, s.record_bytes);
  put_u64(p + 32, s.records_end);
  put_u32(p + 40, static_cast<uint32_t>(s.ids.size()));
  put_u32(p + kSpansBytesOffset, static_cast<uint32_t>(out.size() - kSummaryHeaderBytes));
  put_u32(p + kCrcOffset, summary_crc(p, out.size()));
  return out;
}

bool decode_summary(const uint8_t* data, size_t bytes, uint32_t segment, SegmentSummary& out, std::string& why) {
  if (bytes < kSummaryHeaderBytes) return reject(why, "shorter than its header");
  if (get_u64(data) != kSummaryMagic) return reject(why, "not a segment summary (bad magic)");
  if (get_u32(data + 8) != kSummaryVersion) return reject(why, "unknown version " + std::to_string(get_u32(data + 8)));
  const uint64_t spans = get_u32(data + 40);
  if (spans > kMaxSummarySpans || bytes != kSummaryHeaderBytes + get_u32(data + kSpansBytesOffset) ||
      get_u32(data + 52) != 0)
    return reject(why, "its size does not match its header");
  if (get_u32(data + kCrcOffset) != summary_crc(data, bytes)) return reject(why, "checksum mismatch");
  if (get_u32(data + 12) != segment)
    return reject(why, "it belongs to segment " + std::to_string(get_u32(data + 12)));
  out.segment = segment;
  out.records = get_u64(data + 16);
  out.record_bytes = get_u64(data + 24);
  out.records_end = get_u64(data + 32);
  out.ids.resize(spans);
  if (!decode_spans(data + kSummaryHeaderBytes, data + bytes, out.ids) || !spans_well_formed(out.ids))
    return reject(why, "its id spans are not ascending and disjoint");
  if (span_ids(out.ids) > out.records || (out.records > 0) != !out.ids.empty())
    return reject(why, "its id spans do not match its record count");
  return true;
}

SummaryRead read_summary(const std::string& shard_dir, uint32_t segment, SegmentSummary& out, std::string& why) {
  std::string text;
  const int rc = base::read_file(summary_path(shard_dir, segment), text, kMaxSummaryBytes);
  if (rc == -ENOENT) return SummaryRead::missing;
  if (rc < 0) {
    why = rc == -EFBIG ? "too large" : std::strerror(-rc);
    return SummaryRead::invalid;
  }
  return decode_summary(reinterpret_cast<const uint8_t*>(text.data()), text.size(), segment, out, why)
             ? SummaryRead::ok
             : SummaryRead::invalid;
}

int write_summary_sync(const std::string& shard_dir, const SegmentSummary& s) {
  const std::vector<uint8_t> bytes = encode_summary(s);
  return base::replace_file_durably(summary_path(shard_dir, s.segment),
                                    std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace busyring::storage
