#include "host/base/log_histogram.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

using tiny::host::LogHistogram;

namespace {

// The exact q-quantile of `sorted` by the same rank rule: the ceil(q*n)-th
// smallest sample.
uint64_t Exact(const std::vector<uint64_t>& sorted, double q) {
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

}  // namespace

TEST_CASE("buckets tile the whole uint64 range without gaps or overlaps") {
  CHECK(LogHistogram::Bucket(0) == 0);
  CHECK(LogHistogram::Bucket(127) == 127);
  CHECK(LogHistogram::Bucket(128) == 128);
  CHECK(LogHistogram::Bucket(UINT64_MAX) == LogHistogram::kBuckets - 1);
  CHECK(LogHistogram::Lowest(0) == 0);
  CHECK(LogHistogram::Highest(LogHistogram::kBuckets - 1) == UINT64_MAX);
  for (size_t b = 0; b + 1 < LogHistogram::kBuckets; ++b) {
    REQUIRE(LogHistogram::Highest(b) + 1 == LogHistogram::Lowest(b + 1));
    REQUIRE(LogHistogram::Bucket(LogHistogram::Lowest(b)) == b);
    REQUIRE(LogHistogram::Bucket(LogHistogram::Highest(b)) == b);
    // A bucket is at most 1/64 of its lowest value wide (exact below 128).
    uint64_t lo = LogHistogram::Lowest(b), width = LogHistogram::Highest(b) - lo + 1;
    REQUIRE((lo < 128 ? width == 1 : width * 64 <= lo));
  }
}

TEST_CASE("empty, one sample, small exact values") {
  LogHistogram h;
  CHECK(h.Count() == 0);
  CHECK(h.Quantile(0.5) == 0);
  CHECK(h.Max() == 0);
  h.Record(42);
  CHECK(h.Count() == 1);
  CHECK(h.Quantile(0) == 42);
  CHECK(h.Quantile(0.99) == 42);
  CHECK(h.Max() == 42);
  LogHistogram small;
  for (uint64_t v = 1; v <= 100; ++v) small.Record(v);
  CHECK(small.Quantile(0.5) == 50);
  CHECK(small.Quantile(0.9) == 90);
  CHECK(small.Quantile(0.99) == 99);
  CHECK(small.Quantile(1.0) == 100);
}

TEST_CASE("quantiles of a wide distribution are within 1/64 of the exact ones") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> latency(std::log(200000.0), 1.2);  // ~200 us median, in ns
  LogHistogram h;
  std::vector<uint64_t> all;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<uint64_t>(latency(rng));
    h.Record(v);
    all.push_back(v);
  }
  std::sort(all.begin(), all.end());
  CHECK(h.Count() == all.size());
  CHECK(h.Max() == all.back());
  for (double q : {0.01, 0.5, 0.9, 0.99, 0.999}) {
    double exact = static_cast<double>(Exact(all, q));
    double got = static_cast<double>(h.Quantile(q));
    CAPTURE(q);
    CHECK(std::abs(got - exact) <= exact / 64.0 + 1);
  }
  CHECK(h.Quantile(1.0) == all.back());  // capped at the largest recorded
}

TEST_CASE("concurrent writers lose no sample") {
  LogHistogram h;
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&h, t] {
      for (uint64_t i = 0; i < 50000; ++i) h.Record(i * 4 + static_cast<uint64_t>(t));
    });
  for (auto& w : writers) w.join();
  CHECK(h.Count() == 200000);
  CHECK(h.Max() == 199999);
  double median = static_cast<double>(h.Quantile(0.5));
  CHECK(std::abs(median - 99999.0) <= 99999.0 / 64.0 + 1);
}
