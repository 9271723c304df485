// The admin listener's routes over a running host: /metrics, /healthz,
// /readyz, /status, and the flow page (/ and /graph.svg).
#pragma once

#include <memory>
#include <string>

#include "host/admin/admin_server.h"
#include "host/admin/admin_sources.h"
#include "host/admin/metrics.h"

namespace tiny::host {

class Admin {
 public:
  // Starts serving on `listen`; turns counting on (SetMeasuring). Throws
  // std::runtime_error naming the address when it cannot listen.
  Admin(const std::string& listen, AdminSources sources);
  std::string address() const { return server_->address(); }

 private:
  AdminResponse Route(std::string_view path);
  // The drawing of the flows running now, laid out once per FlowSet (a
  // reload publishes a new one). [thread: the admin thread]
  AdminResponse GraphSvg();

  AdminSources sources_;
  std::shared_ptr<const FlowSet> drawn_;  // what svg_ shows
  AdminResponse svg_;
  HostCollector collector_;
  std::unique_ptr<AdminServer> server_;  // last: its thread uses the above
};

}  // namespace tiny::host
