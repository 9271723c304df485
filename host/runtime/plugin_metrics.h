// The "tiny.metrics/1" extension: metrics a node declares for itself (an
// http_server's requests by status), kept in its Node and served on
// /metrics beside the host's own. Recording is lock-free; declaring takes
// the node's lock and the family table's (both rare).
#pragma once

#include <tiny/plugin.h>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "host/runtime/stats.h"

// The opaque handle of the C ABI.
struct tiny_metric {
  std::string name;  // without the tinyhost_ prefix
  int32_t kind = TINY_METRIC_COUNTER;
  // Counter: up to kSlots codes, claimed by the first add of each.
  static constexpr int kNoCode = -1;
  static constexpr int kOther = -2;  // a code out of range, or past the slots
  static constexpr int kSlots = 32;
  struct Slot {
    std::atomic<int32_t> code{kEmpty};
    std::atomic<uint64_t> value{0};
  };
  static constexpr int32_t kEmpty = INT32_MIN;
  std::array<Slot, kSlots + 1> slots;  // the last one is kOther's
  tiny::host::LatencyHistogram histogram;

  void Add(int32_t code, uint64_t n);
};

namespace tiny::host {

// The metrics of one node.
class NodeMetrics {
 public:
  // See tiny_host_metrics_api.define; `component` is the node's.
  tiny_metric* Define(const std::string& component, const char* name, int32_t kind, const char* help);
  // Calls fn(metric) for each, under the node's lock. [thread: any]
  template <class Fn>
  void ForEach(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& m : metrics_) fn(*m);
  }

 private:
  static constexpr size_t kMaxPerNode = 16;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<tiny_metric>> metrics_;
};

// The help text a family was first declared with ("" if none yet).
std::string PluginMetricHelp(const std::string& name);

// The extension's table, for get_extension.
const tiny_host_metrics_api* MetricsApi();

}  // namespace tiny::host
