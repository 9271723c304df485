// Every module the host knows: the plugins it loaded, and which of them it
// serves (instantiates nodes for). Known-but-not-served modules validate
// flows and are reached through the client pool.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "host/loader/plugin_loader.h"

namespace tiny::host {

class ModuleRegistry {
 public:
  ModuleRegistry() = default;
  // Deinitialises every plugin (DeinitAll): whatever made instances of its
  // components (a Scheduler) must be gone first.
  ~ModuleRegistry();
  ModuleRegistry(const ModuleRegistry&) = delete;
  ModuleRegistry& operator=(const ModuleRegistry&) = delete;

  // Takes ownership of a loaded plugin. Throws PluginLoadError when its
  // module name is taken, naming both files.
  void Add(std::unique_ptr<Plugin> plugin, bool served);

  const Plugin* Find(std::string_view module) const;
  bool Serves(std::string_view module) const;
  const ComponentType* FindComponent(std::string_view module, std::string_view component) const;
  std::vector<std::string> ServedModules() const;
  std::vector<std::string> KnownModules() const;
  // Every loaded plugin, by module name. [thread: any, once loading is over]
  std::vector<const Plugin*> Plugins() const;
  // Calls every plugin's deinit (after all instances are destroyed); a
  // plugin already deinitialised is skipped, so calling it again is harmless.
  void DeinitAll();

 private:
  struct Entry {
    std::unique_ptr<Plugin> plugin;
    bool served = false;
  };
  std::map<std::string, Entry, std::less<>> modules_;
};

}  // namespace tiny::host
