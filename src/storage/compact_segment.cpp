// The compacted segment codec; see compact_segment.h for the format.
#include "busyring/storage/compact_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "busyring/base/io.h"
#include "crc32c.h"

namespace busyring::storage {
namespace {

// Stretches of at least this many zero words are skipped, shorter ones stay literal: a chunk
// costs two varints, more than one zero word.
constexpr size_t kMinZeroWords = 2;

void put_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put_u64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
uint32_t get_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void put_varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

bool get_varint(const uint8_t*& p, const uint8_t* end, uint64_t& v) {
  v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p == end) return false;
    const uint8_t b = *p++;
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

bool zero_word(const uint8_t* p) { return get_u64(p) == 0; }

// Number of consecutive zero words at data[at, end).
size_t zero_words_at(const uint8_t* data, size_t at, size_t end) {
  size_t n = 0;
  while (at + 8 * (n + 1) <= end && zero_word(data + at + 8 * n)) ++n;
  return n;
}

// The header's bytes (with header_crc computed over them and the summary).
void write_header(const CompactHeader& h, uint8_t* p) {
  std::memset(p, 0, kCompactHeaderBytes);
  put_u64(p + 0, kCompactMagic);
  put_u32(p + 8, kCompactVersion);
  put_u32(p + 12, h.segment);
  put_u64(p + 16, h.segment_bytes);
  put_u64(p + 24, h.data_end);
  put_u64(p + 32, h.records);
  put_u64(p + 40, h.record_bytes);
  put_u64(p + 48, h.first_id);
  put_u64(p + 56, h.last_id);
  put_u64(p + 64, h.packed_bytes);
  put_u64(p + 72, h.zstd_bytes);
  put_u32(p + 80, h.payload_crc);
  put_u32(p + 84, static_cast<uint32_t>(h.summary.size()));
  uint32_t crc = crc32c(0, p, kCompactHeaderBytes);
  crc = crc32c(crc, h.summary.data(), h.summary.size());
  put_u32(p + 88, crc);
}

}  // namespace

std::vector<uint8_t> pack_segment(const uint8_t* data, size_t data_end) {
  std::vector<uint8_t> out;
  out.reserve(data_end / 2);
  size_t at = 0;
  while (at < data_end) {
    size_t zeros = zero_words_at(data, at, data_end);
    if (zeros < kMinZeroWords) zeros = 0;
    const size_t lit_from = at + 8 * zeros;
    size_t lit_end = lit_from;
    while (lit_end < data_end) {
      if (zero_word(data + lit_end) && zero_words_at(data, lit_end, data_end) >= kMinZeroWords) break;
      lit_end += 8;
    }
    lit_end = std::min(lit_end, data_end);
    put_varint(out, zeros);
    put_varint(out, lit_end - lit_from);
    out.insert(out.end(), data + lit_from, data + lit_end);
    at = lit_end;
  }
  return out;
}

bool unpack_segment(const uint8_t* packed, size_t packed_bytes, uint8_t* out, size_t data_end) {
  const uint8_t* p = packed;
  const uint8_t* end = packed + packed_bytes;
  size_t at = 0;
  while (p != end) {
    uint64_t zeros = 0, literal = 0;
    if (!get_varint(p, end, zeros) || !get_varint(p, end, literal)) return false;
    if (zeros > (data_end - at) / 8) return false;
    at += static_cast<size_t>(zeros) * 8;
    if (literal > data_end - at || literal > static_cast<size_t>(end - p)) return false;
    std::memcpy(out + at, p, static_cast<size_t>(literal));
    p += literal;
    at += static_cast<size_t>(literal);
  }
  return at == data_end;
}

std::vector<uint8_t> encode_compact(CompactHeader h, const uint8_t* data, int zstd_level, std::string& why) {
  const std::vector<uint8_t> packed = pack_segment(data, static_cast<size_t>(h.data_end));
  const size_t bound = ZSTD_compressBound(packed.size());
  std::vector<uint8_t> file(kCompactHeaderBytes + h.summary.size() + bound);
  uint8_t* frame = file.data() + kCompactHeaderBytes + h.summary.size();
  const size_t z = ZSTD_compress(frame, bound, packed.data(), packed.size(), zstd_level);
  if (ZSTD_isError(z)) {
    why = std::string("zstd: ") + ZSTD_getErrorName(z);
    return {};
  }
  file.resize(kCompactHeaderBytes + h.summary.size() + z);
  frame = file.data() + kCompactHeaderBytes + h.summary.size();
  h.packed_bytes = packed.size();
  h.zstd_bytes = z;
  h.payload_crc = crc32c(0, frame, z);
  write_header(h, file.data());
  if (!h.summary.empty()) std::memcpy(file.data() + kCompactHeaderBytes, h.summary.data(), h.summary.size());
  return file;
}

bool decode_compact_header(const uint8_t* p, size_t bytes, uint64_t file_bytes, uint32_t segment, CompactHeader& h,
                           std::string& why) {
  if (bytes < kCompactHeaderBytes) {
    why = "shorter than a compact segment header (" + std::to_string(bytes) + " bytes)";
    return false;
  }
  if (get_u64(p) != kCompactMagic) {
    why = "no compact segment magic at offset 0";
    return false;
  }
  if (get_u32(p + 8) != kCompactVersion) {
    why = "unknown compact segment version " + std::to_string(get_u32(p + 8));
    return false;
  }
  const uint32_t summary_bytes = get_u32(p + 84);
  if (summary_bytes > kMaxCompactSummaryBytes || kCompactHeaderBytes + summary_bytes > bytes) {
    why = "summary length " + std::to_string(summary_bytes) + " runs past the file";
    return false;
  }
  uint8_t copy[kCompactHeaderBytes];
  std::memcpy(copy, p, sizeof copy);
  put_u32(copy + 88, 0);
  uint32_t crc = crc32c(0, copy, sizeof copy);
  crc = crc32c(crc, p + kCompactHeaderBytes, summary_bytes);
  if (crc != get_u32(p + 88)) {
    why = "header checksum mismatch";
    return false;
  }
  h.segment = get_u32(p + 12);
  h.segment_bytes = get_u64(p + 16);
  h.data_end = get_u64(p + 24);
  h.records = get_u64(p + 32);
  h.record_bytes = get_u64(p + 40);
  h.first_id = get_u64(p + 48);
  h.last_id = get_u64(p + 56);
  h.packed_bytes = get_u64(p + 64);
  h.zstd_bytes = get_u64(p + 72);
  h.payload_crc = get_u32(p + 80);
  h.summary.assign(p + kCompactHeaderBytes, p + kCompactHeaderBytes + summary_bytes);
  if (h.segment != segment) {
    why = "holds segment " + std::to_string(h.segment) + ", not " + std::to_string(segment);
    return false;
  }
  if (h.data_end > h.segment_bytes || h.data_end % 8 != 0) {
    why = "data end " + std::to_string(h.data_end) + " does not fit the segment's " + std::to_string(h.segment_bytes) +
          " bytes";
    return false;
  }
  if (kCompactHeaderBytes + summary_bytes + h.zstd_bytes != file_bytes) {
    why = "is " + std::to_string(file_bytes) + " bytes, its header says " +
          std::to_string(kCompactHeaderBytes + summary_bytes + h.zstd_bytes) + ": truncated or extended";
    return false;
  }
  return true;
}

bool decode_compact(const uint8_t* file, size_t file_bytes, uint32_t segment, CompactHeader& h, uint8_t* out,
                    size_t out_bytes, std::string& why) {
  if (!decode_compact_header(file, file_bytes, file_bytes, segment, h, why)) return false;
  if (out_bytes < h.segment_bytes) {
    why = "output buffer smaller than the segment";
    return false;
  }
  const uint8_t* frame = file + kCompactHeaderBytes + h.summary.size();
  if (crc32c(0, frame, static_cast<size_t>(h.zstd_bytes)) != h.payload_crc) {
    why = "payload checksum mismatch";
    return false;
  }
  if (h.packed_bytes > h.data_end * 2 + 64) {  // a chunk per 16 bytes at worst, plus varints
    why = "packed length " + std::to_string(h.packed_bytes) + " is implausible";
    return false;
  }
  std::vector<uint8_t> packed(static_cast<size_t>(h.packed_bytes));
  const size_t n = ZSTD_decompress(packed.data(), packed.size(), frame, static_cast<size_t>(h.zstd_bytes));
  if (ZSTD_isError(n) || n != packed.size()) {
    why = ZSTD_isError(n) ? std::string("zstd: ") + ZSTD_getErrorName(n) : "payload shorter than its header says";
    return false;
  }
  if (!unpack_segment(packed.data(), packed.size(), out, static_cast<size_t>(h.data_end))) {
    why = "packed stream does not restore " + std::to_string(h.data_end) + " bytes";
    return false;
  }
  return true;
}

std::string compact_path(const std::string& shard_dir, uint32_t segment) {
  char name[32];
  std::snprintf(name, sizeof name, "/seg-%08u%s", segment, kCompactSuffix);
  return shard_dir + name;
}

namespace {

// The whole file at `path` into `out`. 0 or -errno.
int slurp(const std::string& path, std::vector<uint8_t>& out, size_t limit) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st {};
  int rc = fstat(fd, &st) == 0 ? 0 : -errno;
  if (rc == 0 && !S_ISREG(st.st_mode)) rc = -EINVAL;
  const auto bytes = static_cast<size_t>(st.st_size);
  if (rc == 0) {
    out.resize(std::min(bytes, limit));
    const ssize_t n = ::pread(fd, out.data(), out.size(), 0);
    if (n < 0) rc = -errno;
    else if (static_cast<size_t>(n) != out.size()) rc = -EIO;
  }
  ::close(fd);
  return rc;
}

}  // namespace

int map_compact(const std::string& path, uint32_t segment, const uint8_t** out, uint64_t* bytes, std::string& why) {
  std::vector<uint8_t> file;
  if (const int rc = slurp(path, file, SIZE_MAX); rc < 0) return rc;
  CompactHeader h;
  if (!decode_compact_header(file.data(), file.size(), file.size(), segment, h, why)) return -EBADMSG;
  const auto size = static_cast<size_t>(h.segment_bytes);
  if (size == 0) {
    *out = nullptr;
    *bytes = 0;
    return 0;
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return -errno;
  if (!decode_compact(file.data(), file.size(), segment, h, static_cast<uint8_t*>(p), size, why)) {
    munmap(p, size);
    return -EBADMSG;
  }
  mprotect(p, size, PROT_READ);
  *out = static_cast<const uint8_t*>(p);
  *bytes = h.segment_bytes;
  return 0;
}

int read_compact_header(const std::string& path, uint32_t segment, CompactHeader& out, std::string& why) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -errno;
  std::vector<uint8_t> head;
  if (const int rc = slurp(path, head, kCompactHeaderBytes + kMaxCompactSummaryBytes); rc < 0) return rc;
  if (!decode_compact_header(head.data(), head.size(), static_cast<uint64_t>(st.st_size), segment, out, why))
    return -EBADMSG;
  return 0;
}

}  // namespace busyring::storage
