// Test support shared by the unit and the black-box tests: gzip bodies made with zlib, so a
// test's compressed input comes from a second, independent implementation of RFC 1952 (the
// server decodes with its own api/gzip_body). Header-only: each test binary compiles it in.
#pragma once

#include <zlib.h>

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace busyring::test {

// One gzip member (RFC 1952), as zlib's deflate with windowBits 16 + 15 writes it, at zlib's
// default level.
inline std::string gzipped(std::string_view bytes) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(bytes.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace busyring::test
