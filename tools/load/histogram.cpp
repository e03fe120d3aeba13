// Histogram bucket arithmetic, percentiles and the HdrHistogram-style percentile spectrum.
// Index layout: [0, 256) exact values; then octave s (s >= 1) holds values with bit width
// s + 8, in 128 sub-buckets of width 2^s starting at index 256 + (s - 1) * 128.
#include "histogram.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "busyring/base/assert.h"

namespace busyring::load {

static_assert(Histogram::bucket_count == 7424);

Histogram::Histogram() : counts_(new uint64_t[bucket_count]()) {}

Histogram::Histogram(const Histogram& other) : Histogram() { *this = other; }

Histogram& Histogram::operator=(const Histogram& other) {
  if (this != &other) {
    std::memcpy(counts_.get(), other.counts_.get(), bucket_count * sizeof(uint64_t));
    total_ = other.total_;
    min_ = other.min_;
    max_ = other.max_;
  }
  return *this;
}

uint32_t Histogram::index_of(uint64_t value) noexcept {
  if (value < linear_limit) return static_cast<uint32_t>(value);
  const uint32_t shift = static_cast<uint32_t>(std::bit_width(value)) - (sub_bucket_bits + 1);
  const uint32_t top = static_cast<uint32_t>(value >> shift);  // in [128, 256)
  return linear_limit + (shift - 1) * sub_bucket_half + (top - sub_bucket_half);
}

uint64_t Histogram::lowest_of(uint32_t index) noexcept {
  BR_ASSERT(index < bucket_count);
  if (index < linear_limit) return index;
  const uint32_t k = index - linear_limit;
  const uint32_t shift = k / sub_bucket_half + 1;
  const uint64_t top = sub_bucket_half + k % sub_bucket_half;
  return top << shift;
}

uint64_t Histogram::highest_of(uint32_t index) noexcept {
  if (index < linear_limit) return index;
  const uint32_t shift = (index - linear_limit) / sub_bucket_half + 1;
  return lowest_of(index) + ((uint64_t{1} << shift) - 1);
}

double Histogram::median_of(uint32_t index) const noexcept {
  const double low = static_cast<double>(lowest_of(index));
  const double high = static_cast<double>(highest_of(index));
  return low + (high - low) / 2;
}

void Histogram::record_n(uint64_t value, uint64_t n) noexcept {
  counts_[index_of(value)] += n;
  total_ += n;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (uint32_t i = 0; i < bucket_count; i++) counts_[i] += other.counts_[i];
  total_ += other.total_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() noexcept {
  std::memset(counts_.get(), 0, bucket_count * sizeof(uint64_t));
  total_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

double Histogram::mean() const noexcept {
  if (total_ == 0) return 0;
  double sum = 0;
  for (uint32_t i = 0; i < bucket_count; i++) {
    if (counts_[i] != 0) sum += static_cast<double>(counts_[i]) * median_of(i);
  }
  return sum / static_cast<double>(total_);
}

double Histogram::stddev() const noexcept {
  if (total_ == 0) return 0;
  const double m = mean();
  double sum = 0;
  for (uint32_t i = 0; i < bucket_count; i++) {
    if (counts_[i] == 0) continue;
    const double d = median_of(i) - m;
    sum += static_cast<double>(counts_[i]) * d * d;
  }
  return std::sqrt(sum / static_cast<double>(total_));
}

uint64_t Histogram::value_at_percentile(double percentile) const noexcept {
  if (total_ == 0) return 0;
  const double p = std::clamp(percentile, 0.0, 100.0);
  if (p == 0) return min_;
  // Rank as HdrHistogram computes it: the value below which round(p% of count) values lie.
  uint64_t rank = static_cast<uint64_t>(p / 100 * static_cast<double>(total_) + 0.5);
  rank = std::clamp<uint64_t>(rank, 1, total_);
  uint64_t seen = 0;
  for (uint32_t i = 0; i < bucket_count; i++) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(highest_of(i), min_, max_);
  }
  return max_;
}

int Histogram::write_spectrum(std::FILE* out, double unit_divisor) const noexcept {
  std::fprintf(out, "%12s %14s %10s %14s\n\n", "Value(us)", "Percentile", "TotalCount",
               "1/(1-Percentile)");
  // HdrHistogram's percentile iteration: 5 ticks per halving of the distance to 100 %.
  constexpr double ticks_per_half_distance = 5;
  double level = 0;
  uint64_t seen = 0;
  for (uint32_t i = 0; i < bucket_count && seen < total_; i++) {
    if (counts_[i] == 0) continue;
    seen += counts_[i];
    const double reached = 100.0 * static_cast<double>(seen) / static_cast<double>(total_);
    const double value = static_cast<double>(std::min(highest_of(i), max_)) / unit_divisor;
    while (level <= reached) {
      const double fraction = level / 100;
      std::fprintf(out, "%12.3f %2.12f %10llu %14.2f\n", value, fraction,
                   static_cast<unsigned long long>(seen), 1 / (1 - fraction));
      const double halvings = std::floor(std::log2(100 / (100 - level))) + 1;
      level += 100 / (ticks_per_half_distance * std::exp2(halvings));
      if (seen == total_) break;  // the last bucket gets one line, then the 100 % line
    }
  }
  if (total_ > 0) {
    std::fprintf(out, "%12.3f %2.12f %10llu\n", static_cast<double>(max_) / unit_divisor, 1.0,
                 static_cast<unsigned long long>(total_));
  }
  std::fprintf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mean() / unit_divisor,
               stddev() / unit_divisor);
  std::fprintf(out, "#[Max     = %12.3f, Total count    = %12llu]\n",
               static_cast<double>(max_) / unit_divisor, static_cast<unsigned long long>(total_));
  std::fprintf(out, "#[Buckets = %12u, SubBuckets     = %12u]\n", shift_max + 1,
               linear_limit);
  if (std::ferror(out)) return -EIO;
  return 0;
}

}  // namespace busyring::load
