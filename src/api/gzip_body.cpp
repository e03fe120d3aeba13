// gzip bodies through zlib's inflate (windowBits 16 + MAX_WBITS: gzip framing only, so a raw
// zlib or deflate stream is refused rather than guessed at).
#include "busyring/api/gzip_body.h"

#include <cstring>
#include <new>

namespace busyring::api {

GzipBody::~GzipBody() {
  if (ready_) inflateEnd(&stream_);
}

bool GzipBody::init(size_t max_bytes, size_t padding) noexcept {
  max_bytes_ = max_bytes;
  buffer_.reset(new (std::nothrow) char[max_bytes + padding]);
  if (!buffer_) return false;
  std::memset(buffer_.get(), 0, max_bytes + padding);
  ready_ = inflateInit2(&stream_, 16 + MAX_WBITS) == Z_OK;
  return ready_;
}

std::optional<ErrorId> GzipBody::decode(std::string_view in, std::string_view& out) noexcept {
  // zlib's API takes non-const input; it never writes through it.
  stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream_.avail_in = static_cast<uInt>(in.size());
  stream_.next_out = reinterpret_cast<Bytef*>(buffer_.get());
  // One byte more than allowed: filling it tells a body over the bound from one exactly at it.
  stream_.avail_out = static_cast<uInt>(max_bytes_ + 1);
  for (;;) {
    if (inflateReset(&stream_) != Z_OK) return ErrorId::bad_gzip;
    int rc = Z_OK;
    while (rc == Z_OK) {
      rc = inflate(&stream_, Z_NO_FLUSH);
      if (stream_.avail_out == 0) return ErrorId::decoded_too_large;
      if (rc == Z_OK && stream_.avail_in == 0) return ErrorId::bad_gzip;  // truncated
    }
    if (rc != Z_STREAM_END) return ErrorId::bad_gzip;
    if (stream_.avail_in == 0) break;  // another member may follow (concatenated gzip)
  }
  const size_t bytes = max_bytes_ + 1 - stream_.avail_out;
  out = {buffer_.get(), bytes};
  return std::nullopt;
}

}  // namespace busyring::api
