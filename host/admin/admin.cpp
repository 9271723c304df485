#include "host/admin/admin.h"

#include "host/admin/status.h"

namespace tiny::host {
namespace {

constexpr const char* kText = "text/plain; charset=utf-8";

}  // namespace

Admin::Admin(const std::string& listen, AdminSources sources)
    : sources_(sources), collector_(std::move(sources)) {
  SetMeasuring(true);
  server_ = std::make_unique<AdminServer>(listen, [this](std::string_view path) { return Route(path); });
}

AdminResponse Admin::Route(std::string_view path) {
  if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", MetricsText(collector_)};
  if (path == "/healthz") return {200, kText, "ok\n"};
  if (path == "/readyz") {
    if (sources_.server.serving()) return {200, kText, "SERVING\n"};
    return {503, kText, "NOT_SERVING\n"};
  }
  if (path == "/status")
    return {200, "application/json",
            StatusJson(sources_).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
  return {404, kText, "not found: the admin listener serves /, /graph.svg, /metrics, /healthz, /readyz and /status\n"};
}

}  // namespace tiny::host
