// Loads plugin shared objects and checks their entry against the ABI.
#pragma once

#include <tiny/plugin.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace tiny::host {

// A load failure; what() is one line: "plugin FILE: REASON".
class PluginLoadError : public std::runtime_error {
 public:
  PluginLoadError(const std::string& file, const std::string& reason)
      : std::runtime_error("plugin " + file + ": " + reason), file_(file), reason_(reason) {}
  const std::string& file() const { return file_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string file_, reason_;
};

// A component as the host sees it: the plugin's descriptor plus what the
// host derived from it once (parsed defaults).
struct ComponentType {
  const tiny_component* desc = nullptr;
  std::string module;
  std::string name;
  std::string default_settings;  // JSON object text
  bool blocking = false;

  bool HasInput(std::string_view port) const;
  bool HasOutput(std::string_view port) const;
};

// One loaded, initialised plugin. Its library stays mapped until the
// process exits (rule 8): a plugin's code may still be on a stack or in a
// callback after deinit.
struct Plugin {
  std::string file;
  const tiny_entry* entry = nullptr;
  std::string module;
  std::string version;
  std::vector<ComponentType> components;
  bool initialised = false;

  const ComponentType* FindComponent(std::string_view name) const;
  // Calls deinit once; the host calls it after destroying every instance.
  void Deinit();
};

// Loads `path` (RTLD_NOW | RTLD_LOCAL), checks the entry (version policy,
// struct sizes, names, function pointers, settings JSON) and calls init
// with `host`. Throws PluginLoadError.
std::unique_ptr<Plugin> LoadPlugin(const std::string& path, const tiny_host_api* host);

// The .so files in `dir`, sorted. Throws PluginLoadError if `dir` is not a
// readable directory.
std::vector<std::string> ListPluginFiles(const std::string& dir);

}  // namespace tiny::host
