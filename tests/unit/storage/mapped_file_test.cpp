// storage/mapped_file: the one read-only mapping recovery and the log tool read segments
// through. Real files in a temp dir: the bytes are the file's, scan_bytes drops a torn rest
// that is no 8-byte unit, an empty file maps nothing, and what is no regular file (a directory,
// a FIFO, a device) is refused at once with -errno, never mapped and never waited on.
#include "busyring/storage/mapped_file.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "../support/temp_dir.h"

using busyring::storage::MappedFile;
using busyring::test::TempDir;

namespace {

std::string write_file(const TempDir& dir, const std::string& name, size_t bytes) {
  std::string text(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) text[i] = static_cast<char>(i * 131 + 7);
  std::ofstream(dir.sub(name), std::ios::binary) << text;
  return text;
}

std::string mapped_text(const MappedFile& f) {
  return std::string(reinterpret_cast<const char*>(f.data()), static_cast<size_t>(f.file_bytes()));
}

}  // namespace

TEST_CASE("a mapped file holds the file's bytes; the scanner sees whole 8-byte units", "[storage]") {
  TempDir dir;
  const std::string text = write_file(dir, "seg", 8 * 1000 + 3);
  for (const bool populate : {false, true}) {
    MappedFile f;
    REQUIRE(f.open(dir.sub("seg"), populate) == 0);
    REQUIRE(f.data() != nullptr);
    CHECK(f.file_bytes() == text.size());
    CHECK(f.scan_bytes() == 8 * 1000);  // the 3 bytes after the last unit are no record
    CHECK(mapped_text(f) == text);
  }
}

TEST_CASE("an empty file maps nothing and is no error", "[storage]") {
  TempDir dir;
  write_file(dir, "empty", 0);
  MappedFile f;
  CHECK(f.open(dir.sub("empty")) == 0);
  CHECK(f.data() == nullptr);
  CHECK(f.file_bytes() == 0);
  CHECK(f.scan_bytes() == 0);
}

TEST_CASE("opening again replaces the mapping; close and a failed open leave nothing mapped", "[storage]") {
  TempDir dir;
  const std::string a = write_file(dir, "a", 4096);
  const std::string b = write_file(dir, "b", 24);
  MappedFile f;
  REQUIRE(f.open(dir.sub("a")) == 0);
  CHECK(mapped_text(f) == a);
  REQUIRE(f.open(dir.sub("b")) == 0);
  CHECK(f.file_bytes() == 24);
  CHECK(mapped_text(f) == b);
  f.close();
  CHECK(f.data() == nullptr);
  CHECK(f.file_bytes() == 0);
  REQUIRE(f.open(dir.sub("a")) == 0);
  CHECK(f.open(dir.sub("missing")) == -ENOENT);
  CHECK(f.data() == nullptr);  // the earlier mapping is gone, not kept half-valid
  CHECK(f.file_bytes() == 0);
}

TEST_CASE("what is no regular file is refused with -errno, never mapped or waited on", "[storage]") {
  TempDir dir;
  MappedFile f;
  CHECK(f.open(dir.sub("missing")) == -ENOENT);
  CHECK(f.open(dir.path()) == -EISDIR);
  REQUIRE(mkfifo(dir.sub("fifo").c_str(), 0600) == 0);
  CHECK(f.open(dir.sub("fifo")) == -EINVAL);  // no writer: a blocking open would hang here
  CHECK(f.open("/dev/null") == -EINVAL);
  CHECK(f.data() == nullptr);
}
