// base/fs: a path's directory (the one home of that string arithmetic: storage, ids and the
// log tool fsync it after creating or renaming an entry), a directory's fsync, and a file
// replaced durably: whole new content or the old, no temporary left behind either way.
#include "busyring/base/fs.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "../support/temp_dir.h"

using namespace busyring;
using busyring::test::TempDir;

namespace {

std::string text_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("parent_dir names the directory that holds a path", "[base]") {
  struct Case {
    const char* path;
    const char* parent;
  };
  const Case cases[] = {
      {"file", "."},        {"./file", "."},          {"/file", "/"},  {"/data/shard-00", "/data"},
      {"a/b/c.log", "a/b"}, {"/x/y/id-ranges", "/x/y"}, {"a/", "a"},
  };
  for (const Case& c : cases) {
    INFO(c.path);
    CHECK(base::parent_dir(c.path) == c.parent);
  }
}

TEST_CASE("fsync_dir syncs a directory and reports one that is missing or no directory", "[base]") {
  TempDir tmp;
  CHECK(base::fsync_dir(tmp.path()) == 0);
  CHECK(base::fsync_dir(tmp.sub("missing")) == -ENOENT);
  std::ofstream(tmp.sub("file")) << "x";
  CHECK(base::fsync_dir(tmp.sub("file")) == -ENOTDIR);
}

TEST_CASE("replace_file_durably puts the whole new text in place of the old", "[base]") {
  TempDir tmp;
  const std::string path = tmp.sub("node-id");
  REQUIRE(base::replace_file_durably(path, "first\n") == 0);
  CHECK(text_of(path) == "first\n");
  const std::string big(300000, 'z');  // more than one write(2) may take
  REQUIRE(base::replace_file_durably(path, big) == 0);
  CHECK(text_of(path) == big);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("a replace that cannot happen leaves the old file and no temporary", "[base]") {
  TempDir tmp;
  const std::string path = tmp.sub("target");
  std::filesystem::create_directory(path);  // rename(2) cannot put a file over a directory
  CHECK(base::replace_file_durably(path, "new") == -EISDIR);
  CHECK(std::filesystem::is_directory(path));
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK(base::replace_file_durably(tmp.sub("missing/file"), "new") == -ENOENT);
}
