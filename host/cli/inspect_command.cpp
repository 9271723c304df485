// `tinyhost inspect`: a plugin's module, components and ports as JSON.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "host/cli/commands.h"
#include "host/runtime/host_api.h"
#include "host/loader/plugin_loader.h"

namespace tiny::host {
namespace {

nlohmann::json Describe(const Plugin& p) {
  nlohmann::json components = nlohmann::json::array();
  for (const auto& c : p.components) {
    nlohmann::json ports = nlohmann::json::array();
    for (uint32_t i = 0; i < c.desc->port_count; ++i) {
      const tiny_port& port = c.desc->ports[i];
      nlohmann::json j = {{"name", port.name}, {"direction", port.direction == TINY_PORT_IN ? "in" : "out"}};
      if (port.description) j["description"] = port.description;
      ports.push_back(std::move(j));
    }
    nlohmann::json j = {{"name", c.name},
                        {"blocking", c.blocking},
                        {"settings", nlohmann::json::parse(c.default_settings)},
                        {"ports", std::move(ports)}};
    if (c.desc->description) j["description"] = c.desc->description;
    components.push_back(std::move(j));
  }
  return {{"module", p.module},
          {"version", p.version},
          {"abi", std::to_string(p.entry->abi.major) + "." + std::to_string(p.entry->abi.minor)},
          {"file", p.file},
          {"components", std::move(components)}};
}

}  // namespace

int RunInspect(const InspectOptions& o) {
  try {
    std::unique_ptr<Plugin> plugin;
    bool is_file = o.target.find('/') != std::string::npos ||
                   (o.target.size() > 3 && o.target.compare(o.target.size() - 3, 3, ".so") == 0);
    if (is_file) {
      plugin = LoadPlugin(o.target, HostApi());
    } else {
      for (const auto& file : ListPluginFiles(o.plugin_dir)) {
        if (std::filesystem::path(file).stem() == o.target) {
          plugin = LoadPlugin(file, HostApi());
          break;
        }
      }
      if (!plugin) {
        // The module name may differ from the file name: look inside.
        for (const auto& file : ListPluginFiles(o.plugin_dir)) {
          try {
            auto p = LoadPlugin(file, HostApi());
            if (p->module == o.target) {
              plugin = std::move(p);
              break;
            }
            p->Deinit();
          } catch (const PluginLoadError&) {
          }
        }
      }
      if (!plugin) throw PluginLoadError(o.target, "no such module in " + o.plugin_dir);
    }
    std::cout << Describe(*plugin).dump(2) << "\n";
    plugin->Deinit();
    return 0;
  } catch (const PluginLoadError& e) {
    std::cerr << "tinyhost: error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace tiny::host
