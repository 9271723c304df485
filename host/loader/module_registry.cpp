#include "host/loader/module_registry.h"

namespace tiny::host {

ModuleRegistry::~ModuleRegistry() { DeinitAll(); }

void ModuleRegistry::Add(std::unique_ptr<Plugin> plugin, bool served) {
  auto it = modules_.find(plugin->module);
  if (it != modules_.end()) {
    std::string file = plugin->file, module = plugin->module;
    plugin->Deinit();
    throw PluginLoadError(file, "module '" + module + "' is already provided by " + it->second.plugin->file);
  }
  std::string name = plugin->module;
  modules_.emplace(std::move(name), Entry{std::move(plugin), served});
}

const Plugin* ModuleRegistry::Find(std::string_view module) const {
  auto it = modules_.find(module);
  return it == modules_.end() ? nullptr : it->second.plugin.get();
}

bool ModuleRegistry::Serves(std::string_view module) const {
  auto it = modules_.find(module);
  return it != modules_.end() && it->second.served;
}

const ComponentType* ModuleRegistry::FindComponent(std::string_view module, std::string_view component) const {
  const Plugin* p = Find(module);
  return p ? p->FindComponent(component) : nullptr;
}

std::vector<std::string> ModuleRegistry::ServedModules() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : modules_)
    if (e.served) out.push_back(name);
  return out;
}

std::vector<std::string> ModuleRegistry::KnownModules() const {
  std::vector<std::string> out;
  for (const auto& [name, e] : modules_) out.push_back(name);
  return out;
}

void ModuleRegistry::DeinitAll() {
  for (auto& [name, e] : modules_) e.plugin->Deinit();
}

std::vector<const Plugin*> ModuleRegistry::Plugins() const {
  std::vector<const Plugin*> out;
  for (const auto& [name, entry] : modules_) out.push_back(entry.plugin.get());
  return out;
}

}  // namespace tiny::host
