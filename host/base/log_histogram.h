// A histogram of non-negative integers (latencies in ns) in log-linear
// buckets, as HdrHistogram lays them out: values below 128 have a bucket
// each; above, every power of two is split into 64 equal buckets, so a
// quantile read back is within 1/64 (1.6 %) of a recorded value. Fixed
// size (3,776 counters, 30 KiB) whatever the number of samples; one relaxed
// increment per sample from any thread.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace tiny::host {

class LogHistogram {
 public:
  static constexpr int kSubBits = 7;  // 2^7 exact values, then 2^6 buckets per octave
  static constexpr size_t kBuckets = (size_t{1} << kSubBits) + (64 - kSubBits) * (size_t{1} << (kSubBits - 1));

  static size_t Bucket(uint64_t v) {
    if (v < (uint64_t{1} << kSubBits)) return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);  // >= kSubBits
    int shift = msb - (kSubBits - 1);    // >= 1
    uint64_t mantissa = v >> shift;      // in [2^(kSubBits-1), 2^kSubBits)
    return (size_t{1} << kSubBits) + static_cast<size_t>(shift - 1) * (size_t{1} << (kSubBits - 1)) +
           static_cast<size_t>(mantissa - (uint64_t{1} << (kSubBits - 1)));
  }
  // The smallest and largest value that land in bucket `b`.
  static uint64_t Lowest(size_t b) {
    if (b < (size_t{1} << kSubBits)) return b;
    size_t rest = b - (size_t{1} << kSubBits);
    int shift = static_cast<int>(rest >> (kSubBits - 1)) + 1;
    uint64_t mantissa = (rest & ((size_t{1} << (kSubBits - 1)) - 1)) + (uint64_t{1} << (kSubBits - 1));
    return mantissa << shift;
  }
  static uint64_t Highest(size_t b) { return b + 1 < kBuckets ? Lowest(b + 1) - 1 : UINT64_MAX; }

  void Record(uint64_t v) {
    counts_[Bucket(v)].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(1, std::memory_order_relaxed);
    uint64_t seen = max_.load(std::memory_order_relaxed);
    while (v > seen && !max_.compare_exchange_weak(seen, v, std::memory_order_relaxed)) {
    }
  }

  uint64_t Count() const { return total_.load(std::memory_order_relaxed); }
  uint64_t Max() const { return max_.load(std::memory_order_relaxed); }

  // The value at quantile q (0..1): the middle of the bucket that holds the
  // ceil(q * n)-th smallest sample, never above the largest recorded (and
  // exactly it for the n-th). 0 when empty. Read once the writers are done.
  uint64_t Quantile(double q) const {
    uint64_t n = Count();
    if (n == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<uint64_t>(q * static_cast<double>(n) + 0.999999);
    rank = std::clamp<uint64_t>(rank, 1, n);
    if (rank == n) return Max();  // the largest sample is known exactly
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      seen += counts_[b].load(std::memory_order_relaxed);
      if (seen >= rank) {
        uint64_t lo = Lowest(b), hi = Highest(b);
        return std::min(lo + (hi - lo) / 2, Max());
      }
    }
    return Max();
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> max_{0};
};

}  // namespace tiny::host
