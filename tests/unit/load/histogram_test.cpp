// Unit tests of the load generator's latency histogram: relative error of percentiles over
// 1 us .. 60 s, exact min/max, merging, and the HdrHistogram-style spectrum output.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../../../tools/load/histogram.h"

using busyring::load::Histogram;

namespace {

// The value of rank round(p% of n) in sorted order: what the histogram approximates.
uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
  auto rank = static_cast<size_t>(p / 100 * static_cast<double>(sorted.size()) + 0.5);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

double relative_error(uint64_t got, uint64_t want) {
  return std::fabs(static_cast<double>(got) - static_cast<double>(want)) /
         static_cast<double>(want);
}

}  // namespace

TEST_CASE("load histogram: buckets map back to themselves and tile the value range", "[load]") {
  for (uint32_t i = 0; i < Histogram::bucket_count; i++) {
    REQUIRE(Histogram::index_of(Histogram::lowest_of(i)) == i);
    REQUIRE(Histogram::index_of(Histogram::highest_of(i)) == i);
    if (i + 1 < Histogram::bucket_count) {
      REQUIRE(Histogram::highest_of(i) + 1 == Histogram::lowest_of(i + 1));
    }
  }
  REQUIRE(Histogram::highest_of(Histogram::bucket_count - 1) == UINT64_MAX);
}

TEST_CASE("load histogram: buckets are exact below 256, then at most 1/128 wide", "[load]") {
  for (uint32_t i = 0; i < Histogram::bucket_count; i++) {
    const uint64_t low = Histogram::lowest_of(i);
    const uint64_t width = Histogram::highest_of(i) - low + 1;
    if (i < Histogram::linear_limit) {
      REQUIRE(width == 1);
    } else {
      REQUIRE(width * 128 <= low);
    }
  }
}

TEST_CASE("load histogram: percentiles from 1 us to 60 s are within 1 percent", "[load]") {
  std::mt19937_64 rng(42);
  // Log-uniform nanoseconds from 1 us to 60 s: every octave of the range gets samples.
  std::uniform_real_distribution<double> exponent(std::log(1e3), std::log(6e10));
  std::vector<uint64_t> values(200000);
  Histogram h;
  for (uint64_t& v : values) {
    v = static_cast<uint64_t>(std::exp(exponent(rng)));
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 99.999}) {
    INFO("percentile " << p);
    REQUIRE(relative_error(h.value_at_percentile(p), exact_percentile(values, p)) <= 0.01);
  }
  REQUIRE(h.count() == values.size());
  REQUIRE(h.min() == values.front());
  REQUIRE(h.max() == values.back());
  REQUIRE(h.value_at_percentile(100) == values.back());
  REQUIRE(h.value_at_percentile(0) == values.front());
}

TEST_CASE("load histogram: one value is reported within 1 percent at any percentile", "[load]") {
  for (uint64_t v : {uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{1000},
                     uint64_t{123456789}, uint64_t{60'000'000'000}}) {
    Histogram h;
    h.record(v);
    for (double p : {0.0, 50.0, 99.99, 100.0}) {
      REQUIRE(relative_error(h.value_at_percentile(p), v) <= 0.01);
    }
    REQUIRE(h.min() == v);
    REQUIRE(h.max() == v);
  }
}

TEST_CASE("load histogram: values below 256 are counted exactly", "[load]") {
  Histogram h;
  for (uint64_t v = 1; v <= 100; v++) h.record(v);
  REQUIRE(h.value_at_percentile(50) == 50);
  REQUIRE(h.value_at_percentile(99) == 99);
  REQUIRE(h.mean() == Approx(50.5));
}

TEST_CASE("load histogram: an empty histogram reports zeros", "[load]") {
  Histogram h;
  REQUIRE(h.count() == 0);
  REQUIRE(h.min() == 0);
  REQUIRE(h.max() == 0);
  REQUIRE(h.value_at_percentile(99) == 0);
  REQUIRE(h.mean() == 0);
}

TEST_CASE("load histogram: merging histograms equals recording everything into one", "[load]") {
  Histogram a;
  Histogram b;
  Histogram all;
  for (uint64_t v = 1000; v < 2'000'000; v += 997) {
    (v % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  b.record_n(5'000'000'000, 7);
  all.record_n(5'000'000'000, 7);
  a.merge(b);
  REQUIRE(a.count() == all.count());
  REQUIRE(a.min() == all.min());
  REQUIRE(a.max() == all.max());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    REQUIRE(a.value_at_percentile(p) == all.value_at_percentile(p));
  }
}

TEST_CASE("load histogram: merging into an empty histogram keeps the other's min", "[load]") {
  Histogram empty;
  Histogram one;
  one.record(12345);
  empty.merge(one);
  REQUIRE(empty.min() == 12345);
  REQUIRE(empty.max() == 12345);
}

TEST_CASE("load histogram: the spectrum has HdrHistogram columns, up to 100 percent", "[load]") {
  Histogram h;
  for (uint64_t v = 1; v <= 10000; v++) h.record(v * 1000);  // 1 us .. 10 ms
  char* text = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&text, &size);
  REQUIRE(out != nullptr);
  REQUIRE(h.write_spectrum(out, 1000.0) == 0);
  std::fclose(out);
  const std::string s(text, size);
  std::free(text);
  REQUIRE(s.rfind("   Value(us)     Percentile TotalCount 1/(1-Percentile)\n\n", 0) == 0);
  REQUIRE(s.find("   10000.000 1.000000000000      10000\n") != std::string::npos);
  REQUIRE(s.find("#[Max     =    10000.000, Total count    =        10000]") !=
          std::string::npos);
  // Rows are non-decreasing in value and percentile.
  double last_value = 0;
  double last_percentile = 0;
  int rows = 0;
  size_t at = s.find("\n\n") + 2;
  while (at < s.size() && s[at] != '#') {
    double value = 0;
    double percentile = 0;
    REQUIRE(std::sscanf(s.c_str() + at, "%lf %lf", &value, &percentile) == 2);
    REQUIRE(value >= last_value);
    REQUIRE(percentile >= last_percentile);
    last_value = value;
    last_percentile = percentile;
    rows++;
    at = s.find('\n', at) + 1;
  }
  REQUIRE(rows > 30);
  REQUIRE(last_percentile == 1.0);
}
