#include "host/runtime/stats.h"

#include <algorithm>

#include "host/base/bytes.h"
#include "host/base/names.h"

namespace tiny::host {
namespace {

std::atomic<bool> g_measuring{false};

int CodeOf(int32_t status) { return status >= 0 && status < kStatusCodes ? status : TINY_STATUS_INTERNAL; }

}  // namespace

void SetMeasuring(bool on) { g_measuring.store(on, std::memory_order_relaxed); }
bool Measuring() { return g_measuring.load(std::memory_order_relaxed); }

const char* StatusName(int code) {
  static constexpr const char* kNames[kStatusCodes] = {
      "OK",        "CANCELLED",          "UNKNOWN",   "INVALID_ARGUMENT",    "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return code >= 0 && code < kStatusCodes ? kNames[code] : "UNKNOWN";
}

void LatencyHistogram::Observe(std::chrono::nanoseconds d) {
  const double seconds = std::chrono::duration<double>(d).count();
  size_t i = std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(std::max<int64_t>(d.count(), 0)), std::memory_order_relaxed);
}

void LatencyHistogram::AddTo(std::array<uint64_t, kBounds.size() + 1>& buckets, uint64_t& sum_ns) const {
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += counts_[i].load(std::memory_order_relaxed);
  sum_ns += sum_ns_.load(std::memory_order_relaxed);
}

NodeStats::NodeStats(std::vector<std::string> input_ports)
    : ports(std::move(input_ports)), delivered(new std::atomic<uint64_t>[ports.size()]) {
  for (size_t i = 0; i < ports.size(); ++i) delivered[i].store(0, std::memory_order_relaxed);
}

void NodeStats::CountDelivery(std::string_view port) {
  for (size_t i = 0; i < ports.size(); ++i)
    if (PortMatches(ports[i], port)) {
      delivered[i].fetch_add(1, std::memory_order_relaxed);
      return;
    }
}

uint64_t NodeStats::messages() const {
  uint64_t n = 0;
  for (size_t i = 0; i < ports.size(); ++i) n += delivered[i].load(std::memory_order_relaxed);
  return n;
}

void NodeStats::RecordAnswer(const tiny_result& r, std::chrono::steady_clock::time_point started) {
  latency.Observe(std::chrono::steady_clock::now() - started);
  answers[CodeOf(r.status)].fetch_add(1, std::memory_order_relaxed);
  if (r.status == TINY_STATUS_OK && r.error.len == 0) return;
  errors.fetch_add(1, std::memory_order_relaxed);
  std::string_view text = AsView(r.error);
  std::string message = std::string(StatusName(CodeOf(r.status))) + (text.empty() ? "" : ": ");
  message.append(text.substr(0, kMaxErrorText));
  std::lock_guard<std::mutex> lock(error_mu_);
  last_error_ = LastError{std::move(message), std::chrono::system_clock::now()};
}

NodeStats::LastError NodeStats::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

void StripedCounter::Add(uint64_t n) {
  // A thread keeps the stripe it was given first.
  static std::atomic<size_t> next{0};
  thread_local size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  stripes_[stripe].value.fetch_add(n, std::memory_order_relaxed);
}

uint64_t StripedCounter::Value() const {
  uint64_t n = 0;
  for (const auto& s : stripes_) n += s.value.load(std::memory_order_relaxed);
  return n;
}

HostStats& Stats() {
  static HostStats stats;
  return stats;
}

}  // namespace tiny::host
