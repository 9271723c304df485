// Loading plugins and flow files the way `tinyhost run` starts (and
// `run --check` checks): shared by run and graph, so that a flow graph
// draws is a flow run accepts, with the same error lines.
#pragma once

#include <string>
#include <vector>

#include "host/flow/flow_loader.h"
#include "host/loader/module_registry.h"

namespace tiny::host {

// Loads the plugins of `dir` into `modules`, serving those `selected`
// names (empty: all). Throws StartupError(2) naming the file and the
// reason, or the directory when it has nothing to serve.
void LoadPluginsOrFail(const std::string& dir, const std::vector<std::string>& selected, ModuleRegistry& modules);

// Reads and validates `files` against `modules`. Throws StartupError(2)
// with every problem, one line each. A cycle is no error: its warning is
// written to stderr (`to_stderr`, a person reads it) or logged.
FlowSet LoadFlowsOrFail(const std::vector<std::string>& files, const ModuleRegistry& modules,
                        const ReachableFn& reachable, bool to_stderr);

}  // namespace tiny::host
