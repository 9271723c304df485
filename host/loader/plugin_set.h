// Loading the plugins a `run` asks for into a ModuleRegistry.
#pragma once

#include <string>
#include <vector>

#include "host/loader/module_registry.h"

namespace tiny::host {

// Loads every .so in `dir`. The modules named in `selected` (module names
// or file names, with or without ".so"; empty = all) are served; the rest
// are known for validation and remote routing. A selected plugin that fails
// to load, or a selection naming nothing, throws PluginLoadError; an
// unselected plugin that fails is skipped with a warning. `host` is the
// table every plugin's init receives (static storage, outlives the plugins).
void LoadPluginSet(const std::string& dir, const std::vector<std::string>& selected, const tiny_host_api* host,
                   ModuleRegistry& registry);

}  // namespace tiny::host
