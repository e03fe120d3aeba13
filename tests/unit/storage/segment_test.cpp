// storage/segment: names of shard and segment files, sorted listings that ignore strangers,
// nested directory creation, zero-filled segment creation with no temporary left behind,
// the direct-I/O alignment of a real file, and page-aligned zeroed buffers.
#include "busyring/storage/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <fstream>
#include <iterator>

#include "../support/temp_dir.h"
#include "busyring/base/align.h"

using namespace busyring::storage;
using busyring::test::TempDir;

TEST_CASE("shard and segment paths are zero-padded and numbered", "[storage]") {
  CHECK(shard_dir("/data", 0) == "/data/shard-00");
  CHECK(shard_dir("./data", 7) == "./data/shard-07");
  CHECK(shard_dir("d", 123) == "d/shard-123");
  CHECK(segment_path("/data/shard-00", 0) == "/data/shard-00/seg-00000000.log");
  CHECK(segment_path("x", 4294967295u) == "x/seg-4294967295.log");
}

TEST_CASE("listings are sorted numerically and ignore other names", "[storage]") {
  TempDir tmp;
  for (const char* name : {"seg-00000010.log", "seg-00000002.log", "seg-00000001.log.tmp", "seg-x.log",
                           "seg-.log", "seg-00000003.logx", "notes.txt", "seg-99999999999.log"})
    std::ofstream(tmp.sub(name)) << "x";
  std::vector<uint32_t> segs;
  REQUIRE(list_segments(tmp.path(), segs) == 0);
  CHECK(segs == std::vector<uint32_t>{2, 10});
  for (const char* name : {"shard-03", "shard-00", "shard-1x", "shard-", "other"})
    REQUIRE(make_dirs(tmp.sub(name)) == 0);
  std::vector<uint32_t> shards;
  REQUIRE(list_shards(tmp.path(), shards) == 0);
  CHECK(shards == std::vector<uint32_t>{0, 3});
  CHECK(list_segments(tmp.sub("missing"), segs) == -ENOENT);
}

TEST_CASE("make_dirs creates nested directories and accepts existing ones", "[storage]") {
  TempDir tmp;
  const std::string deep = tmp.sub("a/b/c");
  REQUIRE(make_dirs(deep) == 0);
  struct stat st {};
  REQUIRE(stat(deep.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK(make_dirs(deep) == 0);
  std::ofstream(tmp.sub("file")) << "x";
  CHECK(make_dirs(tmp.sub("file")) == -ENOTDIR);
  CHECK(make_dirs("") == -EINVAL);
}

TEST_CASE("create_segment_sync makes a complete zero-filled file and no temporary", "[storage]") {
  TempDir tmp;
  const std::string path = tmp.sub("seg-00000000.log");
  const uint64_t bytes = (3ull << 20) + 4096;  // not a multiple of the 1 MiB chunk
  REQUIRE(create_segment_sync(path, bytes) == 0);
  std::ifstream in(path, std::ios::binary);
  const std::string data{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  CHECK(data.size() == bytes);
  CHECK(data.find_first_not_of('\0') == std::string::npos);
  struct stat st {};
  CHECK(stat((path + ".tmp").c_str(), &st) != 0);
  CHECK(create_segment_sync(tmp.sub("missing/seg-00000000.log"), 4096) < 0);
}

TEST_CASE("a file on /tmp reports a direct-I/O alignment and opens with O_DIRECT", "[storage]") {
  TempDir tmp;
  const std::string path = tmp.sub("seg-00000000.log");
  REQUIRE(create_segment_sync(path, 1 << 20) == 0);
  DioAlign a;
  REQUIRE(dio_alignment(path, a) == 0);
  CHECK(busyring::base::is_pow2(a.offset));
  CHECK(busyring::base::is_pow2(a.memory));
  CHECK(a.offset <= 4096);
  const int fd = open_segment(path, true);
  REQUIRE(fd >= 0);
  CHECK((fcntl(fd, F_GETFL) & O_DIRECT) != 0);
  close(fd);
  CHECK(open_segment(tmp.sub("nope"), false) == -ENOENT);
  CHECK(dio_alignment(tmp.sub("nope"), a) == -ENOENT);
}

TEST_CASE("alloc_aligned gives zeroed page-aligned memory", "[storage]") {
  const size_t bytes = 3 * 4096 + 100;
  void* p = alloc_aligned(bytes);
  REQUIRE(p != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(p) % 4096 == 0);
  const auto* b = static_cast<const uint8_t*>(p);
  size_t nonzero = 0;
  for (size_t i = 0; i < bytes; ++i) nonzero += b[i] != 0;
  CHECK(nonzero == 0);
  free_aligned(p, bytes);
}
