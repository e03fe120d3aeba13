// Test support for busyring-log: synthetic data dirs (segment images from the storage tests'
// SegmentImage written as DATA/shard-KK/seg-NNNNNNNN.log files in a temp dir) and a runner
// that captures a command's stdout and stderr in memory (open_memstream).
#pragma once

#include <stdio.h>
#include <stdlib.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../../../tools/log/commands.h"
#include "../storage/segment_image.h"
#include "../support/temp_dir.h"
#include "busyring/storage/segment.h"

namespace busyring::test {

inline constexpr size_t kTestSegment = 64 * 1024;

struct LogDir {
  TempDir tmp;
  std::string data() const { return tmp.sub("data"); }

  // Writes the whole image as segment `index` of `shard`; returns its path.
  std::string put(uint32_t shard, uint32_t index, SegmentImage& img) {
    const std::string dir = storage::shard_dir(data(), shard);
    REQUIRE(storage::make_dirs(dir) == 0);
    const std::string path = storage::segment_path(dir, index);
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
    REQUIRE(f.good());
    return path;
  }
};

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct Ran {
  int rc = -1;
  std::string out;
  std::string err;
};

// Runs a parsed command line ("verify", dir, ...) with stdout and stderr captured.
inline Ran run_tool(std::vector<std::string> args) {
  std::vector<const char*> argv = {"busyring-log"};
  for (const auto& a : args) argv.push_back(a.c_str());
  logtool::Options options;
  std::string error;
  Ran r;
  if (logtool::parse_args(static_cast<int>(argv.size()), argv.data(), &options, &error) != logtool::ParseOutcome::run) {
    r.rc = 2;
    r.err = error;
    return r;
  }
  char* out_buf = nullptr;
  char* err_buf = nullptr;
  size_t out_len = 0, err_len = 0;
  FILE* out = open_memstream(&out_buf, &out_len);
  FILE* err = open_memstream(&err_buf, &err_len);
  REQUIRE(out != nullptr);
  REQUIRE(err != nullptr);
  r.rc = logtool::run_command(options, out, err);
  fclose(out);
  fclose(err);
  r.out.assign(out_buf, out_len);
  r.err.assign(err_buf, err_len);
  free(out_buf);
  free(err_buf);
  return r;
}

inline size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (const char c : s) n += c == '\n';
  return n;
}

}  // namespace busyring::test
