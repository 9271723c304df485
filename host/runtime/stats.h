// What the host counts as messages flow, for /metrics and /status. Every
// counter is a relaxed atomic written on the message path without a lock
// and read at scrape time; nothing here allocates per message. Counting is
// on only when an admin listener is (SetMeasuring), so a host nobody looks
// at pays one predictable branch per delivery.
#pragma once

#include <tiny/plugin.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace tiny::host {

// Whether deliveries and answers are counted: from the admin listener's
// start on. [thread: any]
void SetMeasuring(bool on);
bool Measuring();

// A latency histogram with fixed bounds (seconds, 50 µs to 10 s, about
// ×2.5 apart): one relaxed increment per sample.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 15> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    10.0};
  void Observe(std::chrono::nanoseconds d);
  // Adds this histogram's counts into `buckets` (per bound, then +Inf, not
  // cumulative) and its sum (ns).
  void AddTo(std::array<uint64_t, kBounds.size() + 1>& buckets, uint64_t& sum_ns) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// gRPC status codes 0..16 (a plugin's out-of-range status counts as 13,
// INTERNAL, as it is answered).
inline constexpr int kStatusCodes = 17;
const char* StatusName(int code);

// Per node: what it was given and what it answered.
struct NodeStats {
  explicit NodeStats(std::vector<std::string> input_ports);

  // Deliveries that reached the handler, per declared input port (a
  // wildcard port "in_*" counts under its declared name: the name a sender
  // chose is never a label). The scheduler refuses other ports earlier.
  const std::vector<std::string> ports;
  std::unique_ptr<std::atomic<uint64_t>[]> delivered;
  std::array<std::atomic<uint64_t>, kStatusCodes> answers{};  // by status code
  std::atomic<uint64_t> errors{0};  // answers with a status other than OK or an error text
  LatencyHistogram latency;         // delivery to answer

  void CountDelivery(std::string_view port);
  void RecordAnswer(const tiny_result& r, std::chrono::steady_clock::time_point started);
  uint64_t messages() const;

  struct LastError {
    std::string message;  // at most kMaxErrorText bytes
    std::chrono::system_clock::time_point time;
  };
  // Only the error path takes this lock.
  LastError last_error() const;

 private:
  static constexpr size_t kMaxErrorText = 512;
  mutable std::mutex error_mu_;
  LastError last_error_;
};

// A counter written by many threads at once: spread over cache lines by
// thread, summed when read.
class StripedCounter {
 public:
  void Add(uint64_t n = 1);
  uint64_t Value() const;

 private:
  static constexpr size_t kStripes = 8;
  struct alignas(64) Stripe {
    std::atomic<uint64_t> value{0};
  };
  std::array<Stripe, kStripes> stripes_{};
};

// Host-wide counts (one host per process).
struct HostStats {
  std::array<StripedCounter, kStatusCodes> send_answers;  // gRPC Send answers by code
  StripedCounter hop_limit_refusals;
  StripedCounter fanout_refusals;
  std::atomic<uint64_t> reloads_applied{0};
  std::atomic<uint64_t> reloads_rejected{0};
};
HostStats& Stats();

// Per peer module: the calls the client pool made, by status, and how long
// they took.
struct PeerStats {
  std::array<std::atomic<uint64_t>, kStatusCodes> calls{};
  LatencyHistogram latency;
};

}  // namespace tiny::host
