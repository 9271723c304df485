// `tinyhost graph`: the flows as a picture, to look at before running
// them. The flows are checked as `run --check` checks them (same error
// lines, same exit code), then drawn as the admin page draws them.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>

#include "host/admin/flow_dot.h"
#include "host/cli/commands.h"
#include "host/cli/flow_check.h"
#include "host/cli/startup_error.h"

namespace tiny::host {
namespace {

// The picture is stdout; what plugins log while they load goes to stderr,
// warnings and worse, shaped like the CLI's own lines.
void LogWarningsToStderr() {
  auto logger = std::make_shared<spdlog::logger>("tinyhost", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("tinyhost: %l: %v");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

}  // namespace

int RunGraph(const GraphOptions& o) {
  LogWarningsToStderr();
  ModuleRegistry modules;
  // A dir given is loaded as run loads it; the default one only if it
  // exists. Without plugins every module is taken as reachable, and only
  // names and edges are checked.
  const bool with_plugins = !o.no_plugins && (o.plugin_dir_given || std::filesystem::is_directory(o.plugin_dir));
  try {
    if (with_plugins)
      LoadPluginsOrFail(o.plugin_dir, o.plugins, modules);
    else if (!o.no_plugins)
      std::cerr << "tinyhost: warning: no plugin dir " << o.plugin_dir
                << ": modules, components and ports are not checked (see --plugin-dir)\n";
    ReachableFn reachable = [with_plugins](std::string_view) { return !with_plugins; };
    FlowSet flows = LoadFlowsOrFail(o.flows, modules, reachable, true);
    std::string dot = FlowDot(flows, with_plugins ? &modules : nullptr);
    if (o.format == "dot") {
      std::cout << dot << std::flush;
      return 0;
    }
    std::string svg;
    if (Result r = RenderSvg(dot, &svg); !r.ok()) throw StartupError(1, r.message());
    std::cout << svg << std::flush;
    return 0;
  } catch (const StartupError& e) {
    for (const auto& line : e.lines()) std::cerr << "tinyhost: error: " << line << "\n";
    return e.exit_code();
  }
}

}  // namespace tiny::host
