#include "host/cli/flow_check.h"

#include <spdlog/spdlog.h>

#include <iostream>

#include "host/cli/startup_error.h"
#include "host/flow/cycles.h"
#include "host/loader/plugin_set.h"
#include "host/runtime/host_api.h"

namespace tiny::host {

void LoadPluginsOrFail(const std::string& dir, const std::vector<std::string>& selected, ModuleRegistry& modules) {
  try {
    LoadPluginSet(dir, selected, HostApi(), modules);
  } catch (const PluginLoadError& e) {
    throw StartupError(2, e.what());
  }
  if (modules.ServedModules().empty()) throw StartupError(2, "no plugin to serve in " + dir);
}

FlowSet LoadFlowsOrFail(const std::vector<std::string>& files, const ModuleRegistry& modules,
                        const ReachableFn& reachable, bool to_stderr) {
  FlowSet flows;
  try {
    flows = LoadFlows(files, modules, reachable);
  } catch (const FlowError& e) {
    throw StartupError(2, e.lines());
  }
  for (const auto& line : CycleWarnings(flows)) {
    if (to_stderr)
      std::cerr << "tinyhost: warning: " << line << "\n";
    else
      spdlog::warn("flow cycle: {}", line);
  }
  return flows;
}

}  // namespace tiny::host
