// /metrics: the host's counters as Prometheus families, built at scrape
// time from the relaxed atomics the message path writes (host/runtime/
// stats.h) and serialized by prometheus-cpp. Labels come only from
// {node, port, module, component, code, peer_module}: names from the flow
// files and plugins, status codes, never message data or a client's words.
#pragma once

#include <prometheus/collectable.h>

#include <string>
#include <vector>

#include "host/admin/admin_sources.h"

namespace tiny::host {

class HostCollector final : public prometheus::Collectable {
 public:
  explicit HostCollector(AdminSources sources) : s_(std::move(sources)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  AdminSources s_;
};

// The text exposition format (version 0.0.4) of `collectable`.
std::string MetricsText(const prometheus::Collectable& collectable);

// Process figures from /proc/self, for the process_* families and /status.
struct ProcessFigures {
  double resident_bytes = 0, virtual_bytes = 0, cpu_seconds = 0;
  double threads = 0, open_fds = 0;
};
ProcessFigures ReadProcessFigures();

}  // namespace tiny::host
