#include "host/loader/plugin_set.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <set>

namespace tiny::host {

void LoadPluginSet(const std::string& dir, const std::vector<std::string>& selected, const tiny_host_api* host,
                   ModuleRegistry& registry) {
  std::set<std::string> wanted(selected.begin(), selected.end());
  std::set<std::string> matched;
  std::vector<std::string> skipped;  // "file: reason" of unselected failures
  for (const auto& file : ListPluginFiles(dir)) {
    std::filesystem::path path(file);
    std::string filename = path.filename().string(), stem = path.stem().string();
    bool by_file = wanted.count(filename) || wanted.count(stem);
    std::unique_ptr<Plugin> plugin;
    try {
      plugin = LoadPlugin(file, host);
    } catch (const PluginLoadError& e) {
      if (wanted.empty() || by_file) throw;
      spdlog::warn("skipping plugin not selected by --plugin file={} error={}", file, e.reason());
      skipped.push_back(filename + ": " + e.reason());
      continue;
    }
    bool by_module = wanted.count(plugin->module) > 0;
    bool served = wanted.empty() || by_file || by_module;
    if (by_file) matched.insert(wanted.count(filename) ? filename : stem);
    if (by_module) matched.insert(plugin->module);
    std::string module = plugin->module, version = plugin->version;
    size_t components = plugin->components.size();
    registry.Add(std::move(plugin), served);
    spdlog::info("loaded plugin module={} version={} file={} components={} served={}", module, version, file,
                 components, served);
  }
  for (const auto& name : wanted) {
    if (matched.count(name)) continue;
    std::string reason = "no such plugin or module in " + dir;
    // A broken plugin may be the one asked for by module name: say why.
    if (!skipped.empty()) {
      reason += " (not loaded: ";
      for (size_t i = 0; i < skipped.size(); ++i) reason += (i ? "; " : "") + skipped[i];
      reason += ")";
    }
    throw PluginLoadError(name, reason);
  }
}

}  // namespace tiny::host
