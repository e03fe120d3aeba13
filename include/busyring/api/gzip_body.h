// Decompression of a request body sent with Content-Encoding: gzip, into one buffer the shard
// owns. The output buffer and zlib's state are allocated at start, zlib's window by the first
// gzip body; inflateReset keeps them all: no allocation per request.
// The decompressed size is bounded like a plain body, by --max-body: a gzip bomb stops there
// and is answered 413. Concatenated gzip members (RFC 1952 2.2) are read one after another.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>

#include "busyring/api/errors.h"

namespace busyring::api {

class GzipBody {
 public:
  GzipBody() = default;
  GzipBody(const GzipBody&) = delete;
  GzipBody& operator=(const GzipBody&) = delete;
  ~GzipBody();

  // max_bytes: the largest decompressed body; padding: readable bytes kept after it (simdjson).
  [[nodiscard]] bool init(size_t max_bytes, size_t padding) noexcept;

  // Decompresses `in`: the result stays valid until the next call. An error is bad_gzip
  // (corrupt, truncated, or trailing bytes that are no gzip member) or decoded_too_large.
  std::optional<ErrorId> decode(std::string_view in, std::string_view& out) noexcept;

 private:
  z_stream stream_{};
  bool ready_ = false;
  std::unique_ptr<char[]> buffer_;
  size_t max_bytes_ = 0;
};

}  // namespace busyring::api
