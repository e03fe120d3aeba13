// Compacted segments (issue 17 §6): a sealed segment rewritten without its padding and
// compressed with zstd, DATA_DIR/shard-KK/seg-NNNNNNNN.zlog in place of seg-NNNNNNNN.log.
// Lossless: decoding restores the segment's bytes exactly ([0, data_end), zeros after it, the
// original file size), so every record keeps its offset (export checkpoints, retire and dump
// name offsets) and every reader runs the same scanner over either form. The file (format
// version 1, little-endian; README "Compaction"):
//
//   off size field
//    0   8   magic          "BRZSEG01"
//    8   4   version        1
//   12   4   segment        the segment's index (a copy put next to another segment fails)
//   16   8   segment_bytes  the original file size
//   24   8   data_end       the bytes the packed stream restores; zeros from there on
//   32   8   records        usage records in the segment
//   40   8   record_bytes   their bytes, headers and padding included
//   48   8   first_id       the lowest id (0 if none)
//   56   8   last_id        the highest id
//   64   8   packed_bytes   length of the packed stream (the zstd frame's content)
//   72   8   zstd_bytes     length of the zstd frame, which follows the summary
//   80   4   payload_crc    CRC32C of the zstd frame
//   84   4   summary_bytes  length of the summary blob after the header (0: see below)
//   88   4   header_crc     CRC32C of bytes 0..95 (this field zero) and the summary blob
//   92   4   reserved       0
//   96   ..  summary        reserved: empty in version 1 (below)
//   ..   ..  zstd frame
//
// The packed stream is the segment's bytes without its zero stretches, in chunks:
// LEB128(zero words to skip), LEB128(literal bytes), the literal bytes. A zero stretch is two or
// more zero 8-byte words (the padding that ends each group-commit write); shorter zeros stay
// literal. The file is exactly 96 + summary_bytes + zstd_bytes long: a truncated copy fails.
//
// The summary blob is reserved, kept in the format so a later version can carry a segment
// summary inside the file without a new layout. Version-1 writers leave it empty (summary_bytes
// 0); readers check its length (at most kMaxCompactSummaryBytes) and header_crc over it, then
// ignore its content. Start-up learns a compacted segment's records from the seg-N.summary file
// that compaction leaves in place (segment_summary.h), else by decoding the segment as it would
// scan the .log: one summary codec, not two (README, Compaction).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace busyring::storage {

inline constexpr uint64_t kCompactMagic = 0x31304745535a5242ull;  // "BRZSEG01"
inline constexpr uint32_t kCompactVersion = 1;
inline constexpr size_t kCompactHeaderBytes = 96;
inline constexpr const char* kCompactSuffix = ".zlog";
inline constexpr size_t kMaxCompactSummaryBytes = 4u << 20;

// What a compacted segment says about itself without being decompressed.
struct CompactHeader {
  uint32_t segment = 0;
  uint64_t segment_bytes = 0;
  uint64_t data_end = 0;
  uint64_t records = 0;
  uint64_t record_bytes = 0;
  uint64_t first_id = 0;
  uint64_t last_id = 0;
  uint64_t packed_bytes = 0;
  uint64_t zstd_bytes = 0;
  uint32_t payload_crc = 0;
  std::vector<uint8_t> summary;  // reserved: version-1 writers leave it empty, nothing interprets it
};

// The raw segment's bytes [0, data_end) as the packed stream (data_end a multiple of 8).
std::vector<uint8_t> pack_segment(const uint8_t* data, size_t data_end);
// Restores a packed stream into out[0, out_bytes) (which must be zero-filled); false when the
// stream is malformed or does not restore exactly `data_end` bytes.
[[nodiscard]] bool unpack_segment(const uint8_t* packed, size_t packed_bytes, uint8_t* out, size_t data_end);

// The whole .zlog file for a segment: `h` names what it holds (its packed/zstd/crc fields are
// filled in here), data[0, h.data_end) its bytes. zstd_level: 1 (fast) .. 19. Empty on a zstd
// failure (`why` set).
std::vector<uint8_t> encode_compact(CompactHeader h, const uint8_t* data, int zstd_level, std::string& why);

// Checks magic, version, segment, lengths and the header checksum of a .zlog's first bytes;
// the payload is not read. `file_bytes` is the file's size (a truncated file fails here).
[[nodiscard]] bool decode_compact_header(const uint8_t* data, size_t bytes, uint64_t file_bytes, uint32_t segment,
                                         CompactHeader& out, std::string& why);

// Decodes a whole .zlog file's bytes into out[0, h.segment_bytes) (zero-filled by the caller;
// out must hold segment_bytes). Checks everything decode_compact_header does plus the payload's
// checksum and that it restores exactly data_end bytes.
[[nodiscard]] bool decode_compact(const uint8_t* file, size_t file_bytes, uint32_t segment, CompactHeader& h,
                                  uint8_t* out, size_t out_bytes, std::string& why);

std::string compact_path(const std::string& shard_dir, uint32_t segment);

// Reads the .zlog at `path` into a fresh read-only anonymous mapping of h.segment_bytes bytes
// (the decompressed segment, zeros after data_end); *out is the mapping (free with munmap of
// segment_bytes). 0, or -errno (-EBADMSG when the file is no valid compact segment: `why`).
[[nodiscard]] int map_compact(const std::string& path, uint32_t segment, const uint8_t** out, uint64_t* bytes,
                              std::string& why);

// Reads only the header (and summary) of the .zlog at `path`. 0 or -errno (-EBADMSG: `why`).
[[nodiscard]] int read_compact_header(const std::string& path, uint32_t segment, CompactHeader& out,
                                      std::string& why);

}  // namespace busyring::storage
