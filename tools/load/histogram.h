// Log-bucketed latency histogram in HdrHistogram's layout: values below 256 are counted
// exactly, above that each power of two is split into 128 sub-buckets, so a reported value
// is within 1/128 (< 0.8 %) of the recorded value it stands for, over the full uint64 range.
// The counts array is allocated once at construction; record() never allocates.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>

namespace busyring::load {

class Histogram {
 public:
  static constexpr uint32_t sub_bucket_bits = 7;  // 128 sub-buckets per power of two
  static constexpr uint32_t sub_bucket_half = 1u << sub_bucket_bits;
  static constexpr uint32_t linear_limit = 2 * sub_bucket_half;  // values below are exact
  static constexpr uint32_t shift_max = 64 - (sub_bucket_bits + 1);
  static constexpr uint32_t bucket_count = linear_limit + shift_max * sub_bucket_half;

  Histogram();
  Histogram(const Histogram& other);
  Histogram& operator=(const Histogram& other);

  void record(uint64_t value) noexcept { record_n(value, 1); }
  void record_n(uint64_t value, uint64_t n) noexcept;
  void merge(const Histogram& other) noexcept;
  void reset() noexcept;

  [[nodiscard]] uint64_t count() const noexcept { return total_; }
  [[nodiscard]] uint64_t min() const noexcept { return total_ == 0 ? 0 : min_; }
  [[nodiscard]] uint64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept;
  [[nodiscard]] double stddev() const noexcept;
  // Smallest recorded value (within 1/128) at or below which `percentile` % of values lie.
  [[nodiscard]] uint64_t value_at_percentile(double percentile) const noexcept;

  // Percentile spectrum in HdrHistogram's text format, values divided by `unit_divisor`.
  // Returns 0 or -errno.
  [[nodiscard]] int write_spectrum(std::FILE* out, double unit_divisor) const noexcept;

  [[nodiscard]] static uint32_t index_of(uint64_t value) noexcept;
  [[nodiscard]] static uint64_t lowest_of(uint32_t index) noexcept;
  [[nodiscard]] static uint64_t highest_of(uint32_t index) noexcept;

 private:
  [[nodiscard]] double median_of(uint32_t index) const noexcept;

  std::unique_ptr<uint64_t[]> counts_;
  uint64_t total_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace busyring::load
