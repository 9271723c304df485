#include "host/admin/admin.h"

#include "host/admin/admin_page.h"
#include "host/admin/flow_dot.h"
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
  if (path == "/" || path == "/index.html") return {200, "text/html; charset=utf-8", std::string(AdminPageHtml())};
  if (path == "/graph.svg") return GraphSvg();
  return {404, kText, "not found: the admin listener serves /, /graph.svg, /metrics, /healthz, /readyz and /status\n"};
}

AdminResponse Admin::GraphSvg() {
  auto flows = sources_.flows();
  if (!flows) return {503, kText, "no flows loaded yet\n"};
  if (flows != drawn_) {
    std::string svg;
    Result drawn = RenderSvg(FlowDot(*flows, &sources_.modules), &svg);
    svg_ = drawn.ok() ? AdminResponse{200, "image/svg+xml", std::move(svg)}
                      : AdminResponse{500, kText, "cannot draw the flows: " + drawn.message() + "\n"};
    drawn_ = std::move(flows);
  }
  return svg_;
}

}  // namespace tiny::host
